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

    def handle(self, *args, input: Path, output: Path, no_progress: bool, **options):
        if not input.is_file():
            raise CommandError(f"{input} does not exist")
        total = count_csv_rows(input)
        with tqdm(total=total, unit="review", disable=no_progress, desc="analysing") as bar:
            try:
                rows = analyse_csv(input, output, progress=bar.update)
            except (MissingTextColumnError, SentimentWeightsError) as error:
                raise CommandError(str(error)) from None
        self.stdout.write(f"Wrote {rows} analysed reviews to {output}.")
