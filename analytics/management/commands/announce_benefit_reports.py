from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.announcements import shops_listening_for_reports
from profiles.models import Shop


class Command(BaseCommand):
    help = ("Send each shop's benefit report (default window: the eight weeks up to yesterday) to its webhook "
            "endpoints that take `report.ready`. Run weekly from cron; a window already announced is skipped.")

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="Only this shop id.")
        parser.add_argument("--end", type=date.fromisoformat, help="Last day of the window (YYYY-MM-DD).")

    def handle(self, *args, **options):
        from analytics.actors import benefit_report_ready

        shops = shops_listening_for_reports()
        if options["shop"] is not None:
            if not Shop.objects.filter(id=options["shop"]).exists():
                raise CommandError(f"No shop {options['shop']}: `python manage.py create_shop NAME` makes one.")
            shops = [shop for shop in shops if shop.id == options["shop"]]
        end = options["end"].isoformat() if options["end"] else None
        for shop in shops:
            benefit_report_ready.send(shop.id, end)
        self.stdout.write(f"Queued the benefit report of {len(shops)} shop(s) with a `report.ready` endpoint "
                          "on the analytics queue.")
