from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from profiles.models import Shop
from shop_ai_connect.client import ShopAIClient, ShopAIError
from shop_ai.simulator import SimulationConfig, simulate_store


class Command(BaseCommand):
    help = ("Simulate a store with hidden truth: write a catalogue with product photos, then send weeks of "
            "views, carts, purchases, refunds and reviews through the ingestion service.")

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="Name of an existing shop (see create_shop).")
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--products", type=int, default=60)
        parser.add_argument("--weeks", type=int, default=6)
        parser.add_argument("--interactions", type=int, default=None,
                            help="Aim for about this many events in all (the paper's scale: 150000).")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--no-images", action="store_true", help="Skip product photos (fast at large scale).")
        parser.add_argument("--image-size", type=int, default=96)
        parser.add_argument("--truth", type=Path, default=None,
                            help="Where to write the hidden truth JSON (default var/simulations/<shop>-truth.json).")
        parser.add_argument("--url", default=None,
                            help="Send through the HTTP API of the shop-ai at this URL (e.g. http://127.0.0.1:8000) "
                                 "instead of in-process; needs --api-key.")
        parser.add_argument("--api-key", default=None, help="The shop's API key, for --url.")

    def handle(self, *args, **options):
        shop = Shop.objects.filter(name=options["shop"]).first()
        if shop is None:
            raise CommandError(f"No shop called {options['shop']!r}; create it with `manage.py create_shop NAME`.")
        for name in ("customers", "products", "weeks"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        config = SimulationConfig(customers=options["customers"], products=options["products"],
                                  weeks=options["weeks"], seed=options["seed"], interactions=options["interactions"],
                                  images=not options["no_images"], image_size=options["image_size"])
        truth = options["truth"] or Path(settings.VAR_DIR) / "simulations" / f"{_safe(shop.name)}-truth.json"
        if bool(options["url"]) != bool(options["api_key"]):
            raise CommandError("Give --url and --api-key together (the API key of the shop named by --shop).")
        client = ShopAIClient(options["url"], api_key=options["api_key"]) if options["url"] else None
        try:
            result = simulate_store(shop=shop, config=config, truth_path=truth, client=client)
        except ShopAIError as refused:
            raise CommandError(f"shop-ai refused the simulation: {refused}") from refused
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(result.event_counts.items()))
        self.stdout.write(f"Simulated {result.first_day} … {result.last_day}: {counts}.")
        self.stdout.write(f"Stored {result.accepted} events, {result.duplicates} duplicates, "
                          f"{result.rejected} rejected. Hidden truth: {result.truth_path}")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
