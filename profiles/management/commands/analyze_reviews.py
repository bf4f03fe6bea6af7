"""manage.py analyze_reviews --input reviews.csv --output analysed.csv (see profiles.nlp.review_analysis)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.nlp.review_analysis import MissingTextColumnError, analyse_csv, count_csv_rows
from profiles.nlp.sentiment import SentimentWeightsError


class Command(BaseCommand):
    help = (
        "Read a CSV with a 'text' column and write it back with sentiment (probability positive), "
        "label (pos/neg), is_demand, demand_type (L0-L5) and keywords; other columns are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, type=Path, help="CSV with a 'text' column")
        parser.add_argument("--output", required=True, type=Path, help="where to write the analysed CSV")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--shop", help="read sentiment with this shop's own model (learnt from its star "
                                           "ratings) when it has one that beat the base model")

    def handle(self, *args, input: Path, output: Path, no_progress: bool, shop: str | None = None, **options):
        if not input.is_file():
            raise CommandError(f"{input} does not exist")
        model, model_name = self._sentiment_model(shop)
        total = count_csv_rows(input)
        with tqdm(total=total, unit="review", disable=no_progress, desc="analysing") as bar:
            try:
                rows = analyse_csv(input, output, progress=bar.update, sentiment_model=model)
            except (MissingTextColumnError, SentimentWeightsError) as error:
                raise CommandError(str(error)) from None
        self.stdout.write(f"Wrote {rows} analysed reviews to {output} (sentiment: {model_name}).")

    def _sentiment_model(self, shop_name: str | None):
        if shop_name is None:
            return None, "base model"
        from profiles.models import Shop
        from profiles.shop_sentiment import shop_sentiment_model, shop_sentiment_status

        shop = Shop.objects.filter(name=shop_name).first()
        if shop is None:
            raise CommandError(f"no shop named {shop_name!r}")
        try:
            return shop_sentiment_model(shop=shop), f"{shop_name}'s {shop_sentiment_status(shop=shop).model}"
        except SentimentWeightsError as error:
            raise CommandError(str(error)) from None
