"""manage.py adapt_sentiment --shop NAME: learn the shop's own sentiment model from its star ratings, now."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.models import Shop
from profiles.nlp.sentiment import SentimentWeightsError
from profiles.shop_sentiment import shop_sentiment_adapt

STEPS = ("base model", "features", "choosing the regularisation", "fitting", "judging on held-out reviews")


class Command(BaseCommand):
    help = ("Fit the shop's own sentiment head on its reviews' star ratings (1-2 negative, 4-5 positive, "
            "3 left out), judge it against the base model on held-out rated reviews, and store it as the "
            "shop's next version; it is used only if it is more accurate.")

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="the shop's name")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, shop: str, no_progress: bool, **options):
        target = Shop.objects.filter(name=shop).first()
        if target is None:
            raise CommandError(f"no shop named {shop!r}; the shops are: "
                               + (", ".join(Shop.objects.order_by("name").values_list("name", flat=True)) or "none"))
        with tqdm(total=len(STEPS), unit="step", disable=no_progress, desc=f"adapting {shop}") as bar:
            def progress(step: str) -> None:
                bar.set_postfix_str(step)
                bar.update(1)

            try:
                adaptation = shop_sentiment_adapt(shop=target, progress=progress)
            except SentimentWeightsError as error:
                raise CommandError(str(error)) from None
            bar.update(bar.total - bar.n)
        verdict = "now used for this shop" if adaptation.used else "not used: the base model stays"
        self.stdout.write(f"{shop}: sentiment v{adaptation.version}, {verdict}. {adaptation.reason}.")
