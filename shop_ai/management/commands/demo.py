import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from profiles.models import Shop
from profiles.services import api_key_create, shop_create
from shop_ai.simulator import SimulationConfig, simulate_store

DEMO_SHOP = "Demo Heritage Store"
DEMO_USER = "owner"


class Command(BaseCommand):
    help = "Run shop-ai end to end on the embedded set-up: demo shop, simulated store, web server."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--customers", type=int, default=400)
        parser.add_argument("--products", type=int, default=60)
        parser.add_argument("--weeks", type=int, default=6)
        parser.add_argument("--no-serve", action="store_true", help="Prepare everything, then exit.")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        shop = Shop.objects.filter(name=DEMO_SHOP).first() or shop_create(name=DEMO_SHOP)
        password = self._owner(shop)
        key = api_key_create(shop=shop, label="demo").raw_key
        self.stdout.write(f"Simulating {options['weeks']} weeks of {DEMO_SHOP!r} …")
        config = SimulationConfig(customers=options["customers"], products=options["products"],
                                  weeks=options["weeks"], seed=2026)
        result = simulate_store(shop=shop, config=config,
                                truth_path=Path(settings.VAR_DIR) / "simulations" / "demo-truth.json")
        self.stdout.write(f"  {result.accepted} new events stored ({result.duplicates} already there).")
        base = f"http://127.0.0.1:{options['port']}"
        self.stdout.write(self.style.SUCCESS("\nshop-ai demo is ready:"))
        self.stdout.write(f"  Start page      {base}/")
        self.stdout.write(f"  Admin           {base}/admin/   login: {DEMO_USER} / {password}")
        self.stdout.write(f"  API docs        {base}/api/v1/docs/")
        self.stdout.write(f"  Demo API key    {key}")
        if options["no_serve"]:
            return
        from shop_ai.broker import start_embedded_worker

        start_embedded_worker()
        self.stdout.write("Serving (Ctrl-C to stop) …\n")
        call_command("runserver", f"127.0.0.1:{options['port']}", use_reloader=False)

    @staticmethod
    def _owner(shop: Shop) -> str:
        """A staff login for the demo shop; its password is new on every run and printed."""
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True})
        password = secrets.token_urlsafe(9)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        shop.staff.add(user)
        return password
