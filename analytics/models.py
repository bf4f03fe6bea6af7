"""What it earned: revenue per product per day (a rollup of the events) and Kansei ratings of designs."""

from django.db import models

from generation.models import Listing
from profiles.models import Product, Shop


class DailyProductStats(models.Model):
    """One product on one day of the shop's time zone, recounted from the raw events.

    Rows are rebuilt cell by cell from `profiles.Event`, never incremented, so a replayed or late
    event changes nothing twice. Refunds count on the day they happened, not on the purchase's day.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="daily_product_stats", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField(help_text="Calendar day in the shop's time zone.")
    currency = models.CharField(max_length=3)
    revenue = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    refunds = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    net_revenue = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    units = models.IntegerField(default=0, help_text="Units bought.")
    refunded_units = models.IntegerField(default=0)
    views = models.PositiveIntegerField(default=0)
    carts = models.PositiveIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0, help_text="Purchase events.")
    buyers = models.PositiveIntegerField(default=0, help_text="Distinct customers who bought.")
    visitors = models.PositiveIntegerField(default=0, help_text="Distinct customers with any event on the product.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "product", "day"], name="one_stats_row_per_product_day")]
        indexes = [models.Index(fields=["shop", "day"])]
        verbose_name_plural = "daily product stats"

    @property
    def conversion(self) -> float:
        return self.buyers / self.visitors if self.visitors else 0.0

    def __str__(self) -> str:
        return f"{self.product_id} on {self.day}"


class KanseiWord(models.TextChoices):
    """The six emotional words of seed 002 Table 1."""

    EMOTIONAL = "emotional"
    SIMPLE = "simple"
    LIGHT = "light"
    FASHIONABLE = "fashionable"
    WARM = "warm"
    EFFORTLESS = "effortless"


class RaterKind(models.TextChoices):
    SHOPPER = "shopper"
    EXPERT = "expert"


KANSEI_SCALE = (1, 7)  # a 7-point semantic differential: 1 "not at all <word>" … 7 "very <word>"


class KanseiRating(models.Model):
    """One rater's score of one design (a product's original photo or a listing's variant) on one word."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="kansei_ratings")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="kansei_ratings")
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="kansei_ratings", help_text="Empty: the original design.")
    word = models.CharField(max_length=16, choices=KanseiWord.choices)
    score = models.PositiveSmallIntegerField(help_text="1 (not at all) to 7 (very).")
    rater = models.CharField(max_length=100, help_text="The rater's id in the shop's system.")
    rater_kind = models.CharField(max_length=16, choices=RaterKind.choices, default=RaterKind.SHOPPER)
    rated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Two partial constraints because NULLs never collide in a plain unique constraint.
            models.UniqueConstraint(fields=["product", "word", "rater"], condition=models.Q(listing__isnull=True),
                                    name="one_rating_per_rater_original_word"),
            models.UniqueConstraint(fields=["listing", "word", "rater"], condition=models.Q(listing__isnull=False),
                                    name="one_rating_per_rater_variant_word"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=7), name="kansei_score_on_scale"),
        ]
        indexes = [models.Index(fields=["shop", "product"])]


class PendingRollupCell(models.Model):
    """A (product, day) cell new events fell in, waiting for the shop's next recount. Many batches
    touch the same cells; noting them here lets one worker recount each once, instead of every
    batch's message waiting its turn for the shop's lock."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    version = models.PositiveIntegerField(
        default=0, help_text="Bumped each time the cell is noted again: a recount removes the row only if it "
                             "is unchanged since the recount read it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "product", "day"], name="one_pending_cell")]


class RollupState(models.Model):
    """A per-shop row the rollup locks, so two recounts of one shop never interleave."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="rollup_state")
    recounted_at = models.DateTimeField(null=True, blank=True)
    drained_through_id = models.BigIntegerField(
        default=0, help_text="The last pending cell id the drain recounted: the next slice starts after it.")


class ExperimentSettings(models.Model):
    """The owner's knobs for reading the variant-vs-holdout test."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="experiment_settings")
    smallest_lift = models.DecimalField(
        max_digits=4, decimal_places=3, default=0.05,
        help_text="The smallest lift worth having (0.05 = +5 %): a test whose interval excludes it says stop.")


class KanseiSurvey(models.Model):
    """Designs (an original and its persona variants) put before raters through a link with a token."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="kansei_surveys")
    title = models.CharField(max_length=200)
    token = models.CharField(max_length=64, unique=True, help_text="The secret in the shareable link.")
    rater_kind = models.CharField(max_length=16, choices=RaterKind.choices, default=RaterKind.SHOPPER)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class KanseiSurveyDesign(models.Model):
    survey = models.ForeignKey(KanseiSurvey, on_delete=models.CASCADE, related_name="designs")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text="Empty: the original design.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class KanseiSurveySubmission(models.Model):
    """One rater's six sliders for one design of a survey: at most one per rater and design."""

    design = models.ForeignKey(KanseiSurveyDesign, on_delete=models.CASCADE, related_name="submissions")
    rater = models.CharField(max_length=100)
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["design", "rater"], name="one_submission_per_rater_design")]
