from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.models import Customer, Shop
from profiles.personas.services import (
    customers_mark_stale_from_events,
    personas_assign_incremental,
    personas_recompute_full,
)
from profiles.selectors import live_personas, stale_customer_ids


class Command(BaseCommand):
    help = "Recompute a shop's personas: only customers with new events, or everything with --full."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True)
        parser.add_argument("--full", action="store_true", help="Rebuild every profile and re-cluster.")
        parser.add_argument("--charts", type=Path, default=None,
                            help="Write the weekly-behaviour and t-SNE charts (PNG) into this directory.")

    def handle(self, *args, shop: str, full: bool, charts: Path | None, **options):
        target = Shop.objects.filter(name=shop).first()
        if target is None:
            raise CommandError(f"No shop called {shop!r}; see `manage.py create_shop`.")
        if full:
            total = Customer.objects.filter(shop=target).count()
            with tqdm(total=total, desc="profiles", unit="customer") as bar:
                state = personas_recompute_full(shop=target, progress=bar.update)
            self.stdout.write(f"Re-clustered {total} customers: k={state.k}, silhouette={state.silhouette}. "
                              f"{state.note}")
        else:
            customers_mark_stale_from_events(shop=target)
            ids = stale_customer_ids(shop=target)
            outcome = personas_assign_incremental(shop=target, customer_ids=ids) if ids else {"mode": "none"}
            self.stdout.write(f"{len(ids)} customers had new events; recompute: {outcome}")
        for persona in live_personas(shop=target):
            words = ", ".join(word for word, _ in persona.top_keywords[:6])
            self.stdout.write(f"  #{persona.id} {persona.name}: {persona.size} customers — {words}")
        if charts:
            from profiles.personas.charts import write_charts

            for path in write_charts(shop=target, directory=charts):
                self.stdout.write(f"Chart: {path}")
