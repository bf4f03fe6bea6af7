from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.rollup import daily_stats_rebuild
from profiles.models import Shop


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as problem:
        raise CommandError(f"{value!r} is not a date; write it as YYYY-MM-DD") from problem


class Command(BaseCommand):
    help = ("Recount the daily revenue rollup from the raw events (all shops, or one). The analytics queue keeps "
            "it current; run this after restoring a backup or if the queue was down.")

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="Shop name (default: every shop).")
        parser.add_argument("--since", help="First day to recount, YYYY-MM-DD (default: all history).")
        parser.add_argument("--until", help="Last day to recount, YYYY-MM-DD.")

    def handle(self, *args, shop=None, since=None, until=None, **options):
        shops = Shop.objects.order_by("id")
        if shop:
            shops = shops.filter(name=shop)
            if not shops.exists():
                raise CommandError(f"No shop called {shop!r}; see `manage.py create_shop`.")
        start, end = (_day(since) if since else None), (_day(until) if until else None)
        if start and end and start > end:
            raise CommandError(f"--since {start} is after --until {end}")
        for target in shops:
            written = daily_stats_rebuild(shop=target, start=start, end=end)
            self.stdout.write(f"{target.name}: {written} product-days recounted")
