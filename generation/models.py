"""What we drew and showed: generation jobs, their images, listings, and exposures."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from profiles.models import Customer, Persona, Product, Shop


class GenerationSettings(models.Model):
    """The owner's knobs for generation and the storefront."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="generation_settings")
    holdout_share = models.DecimalField(max_digits=4, decimal_places=3, default=0.2,
                                        help_text="Share of customers who always see the original (0-0.9).")
    auto_approve_threshold = models.FloatField(null=True, blank=True,
                                               help_text="Approve images whose fidelity is at least this; empty: never.")
    daily_job_budget = models.PositiveIntegerField(default=50)
    # generation.imaging.fidelity.DEFAULT_THRESHOLD, calibrated on real photos
    fidelity_threshold = models.FloatField(default=0.85, help_text="Variants whose product fidelity is below "
                                           "this are drawn again with a new seed (see generation.imaging.fidelity).")

    def __str__(self) -> str:
        return f"generation settings of {self.shop}"


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # succeeded, then the owner asked for a new drawing


class GenerationJob(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="generation_jobs")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="generation_jobs")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="generation_jobs")
    persona_version = models.PositiveIntegerField(default=1)
    backend = models.CharField(max_length=32, default="upcdm")
    seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(default=timezone.now, null=True, blank=True, help_text=(
        "When its message was last sent: at the request, or again by the sweeper (shop_ai/sweeper.py). "
        "Empty: the broker refused the first message; the next sweep sends it."))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, help_text=(
        "The message whose delivery runs it: a redelivery of that message takes it again, another message "
        "(a duplicate) leaves it alone until the claim is older than the actor's time limit."))
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "status"]), models.Index(fields=["shop", "created_at"])]
        constraints = [
            # One live job per (product, persona version): duplicate requests get the existing job back.
            models.UniqueConstraint(fields=["shop", "product", "persona", "persona_version"],
                                    condition=models.Q(status__in=["queued", "running", "succeeded"]),
                                    name="one_live_job_per_product_persona_version"),
        ]

    def __str__(self) -> str:
        return f"job {self.id} ({self.status})"


def generated_images_folder(job: "GenerationJob") -> str:
    """The job's folder under MEDIA_ROOT. Its name carries an HMAC of the job id: images waiting for
    the owner's approval must not be found by counting job ids under /media/ (the storefront only
    links published ones), and a retried job can still find its own folder to clean."""
    token = salted_hmac("generation.generated_images_folder", str(job.pk)).hexdigest()[:24]
    return f"shops/{job.shop_id}/generated/job-{job.pk}-{token}"


def generated_image_path(image: "GeneratedImage", filename: str) -> str:
    return f"{generated_images_folder(image.job)}/{filename}"


class GeneratedImage(models.Model):
    """One staged variant of a job (rejected tries are kept too, with their fidelity): the listing image
    at full size, its dashboard preview, and the scene the model drew behind the product."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="images")
    seed = models.BigIntegerField()
    image = models.ImageField(upload_to=generated_image_path, help_text=(
        "The listing image: the product's own pixels over the persona's scene, 1024-2048 px, WebP or JPEG."))
    preview = models.ImageField(upload_to=generated_image_path, blank=True,
                                help_text="A small copy for the dashboard (256 px on the long side).")
    scene = models.ImageField(upload_to=generated_image_path, blank=True,
                              help_text="The scene the model drew around the placed product, as it drew it.")
    fidelity = models.FloatField(help_text="Product fidelity to the photo over the product's region, 0-1.")
    fidelity_detail = models.JSONField(default=dict)
    accepted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "seed"], name="one_image_per_job_seed")]

    @property
    def best_file(self):
        return self.image

    @property
    def thumbnail(self):
        return self.preview or self.image

    @property
    def files(self) -> list:
        return [field for field in (self.image, self.preview, self.scene) if field]


def staging_folder(staging: "ProductStaging") -> str:
    token = salted_hmac("generation.staging_folder", str(staging.product_id)).hexdigest()[:24]
    return f"shops/{staging.shop_id}/cutouts/product-{staging.product_id}-{token}"


def staging_path(staging: "ProductStaging", filename: str) -> str:
    return f"{staging_folder(staging)}/{filename}"


class CutoutSource(models.TextChoices):
    ALPHA_CHANNEL = "alpha-channel", "the photo's own transparency"
    SEGMENTER = "segmenter", "cut out automatically"
    OWNER_MASK = "owner-mask", "the owner's mask"
    OWNER_RECTANGLE = "owner-rectangle", "cut out inside the owner's rectangle"
    OWNER_STROKES = "owner-strokes", "cut out with the owner's keep/remove strokes"


class ProductStaging(models.Model):
    """How a product is staged: its cut-out (an alpha matte of the photo, made once per photo and
    correctable by the owner) and whether it is customisable (print-on-demand: the persona's motif
    may go on its printable surface instead of only around it)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="product_stagings")
    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="staging")
    customisable = models.BooleanField(default=False, help_text=(
        "Print-on-demand products (fans, scarves, bookmarks, totes) may get the persona's motif on their "
        "printable surface, keeping the photo's shading. Off: the product is shown exactly as photographed."))
    photo_digest = models.CharField(max_length=64, blank=True,
                                    help_text="SHA-256 of the photo the cut-out belongs to; a new photo is cut again.")
    alpha = models.ImageField(upload_to=staging_path, blank=True, help_text="8-bit alpha matte, the photo's size.")
    cutout_preview = models.ImageField(upload_to=staging_path, blank=True,
                                       help_text="The cut-out product on transparency, for the dashboard.")
    source = models.CharField(max_length=32, choices=CutoutSource.choices, blank=True)
    error = models.TextField(blank=True, help_text="Why no cut-out could be made, and what the owner can do.")
    confidence = models.FloatField(null=True, blank=True, help_text=(
        "How sure the segmenter is of the cut-out, 0-1 (generation/imaging/cutout_check.py); 1 for the owner's "
        "own mask or the photo's alpha channel; empty before it is checked."))
    confidence_flagged = models.BooleanField(default=False, help_text=(
        "The check's advice: the cut-out may be wrong, so the owner should look at it first."))
    confidence_reasons = models.JSONField(default=list, blank=True,
                                          help_text="Why the cut-out was flagged, in plain words.")
    confidence_signals = models.JSONField(default=dict, blank=True, help_text="The check's measurements.")
    cutout_at = models.DateTimeField(null=True, blank=True, help_text=(
        "When the stored cut-out was made: listings drawn before it show an older one."))
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text=(
        "When a person vouched for this cut-out (the owner's mask, the photo's alpha channel, or the owner's "
        "\"this cut-out is right\"). Auto-approve publishes the product's listings only once it is set; a new "
        "photo or a new correction clears it."))
    confirmed_actor = models.CharField(max_length=150, blank=True,
                                       help_text="user:<name>, api-key:<prefix> or photo:alpha-channel")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"staging of {self.product}"

    @property
    def cutout_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def cutout_advice(self) -> str:
        """What the owner should do about the cut-out, in plain words; empty once a person vouched for it
        (or when there is no cut-out to look at)."""
        from generation.imaging.cutout_check import CHECK_THE_CUTOUT, CONFIRM_THE_CUTOUT

        if self.cutout_confirmed or not self.alpha or self.error:
            return ""
        return CHECK_THE_CUTOUT if self.confidence_flagged else CONFIRM_THE_CUTOUT


class ListingStatus(models.TextChoices):
    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"
    RETIRED = "retired"


class Listing(models.Model):
    """A persona's version of a product, as the storefront will show it."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="listings")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="listings")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="listings")
    job = models.OneToOneField(GenerationJob, on_delete=models.CASCADE, related_name="listing")
    image = models.ForeignKey(GeneratedImage, on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    fidelity = models.FloatField()
    status = models.CharField(max_length=16, choices=ListingStatus.choices, default=ListingStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "status"]), models.Index(fields=["product", "persona", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["product", "persona"], condition=models.Q(status="published"),
                                    name="one_published_listing_per_product_persona"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class ListingAudit(models.Model):
    """Who moved a listing, and when (an owner, an API key, or the auto-approve policy)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="audit")
    action = models.CharField(max_length=16)
    actor = models.CharField(max_length=150, help_text="user:<name>, api-key:<prefix> or policy:auto-approve")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)


class Exposure(models.Model):
    """One storefront view: what a customer was shown (variant or original) and whether they are held out."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="exposures", db_index=False)
    customer_external_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="exposures", db_index=False)
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
                                help_text="The persona's live variant: shown, or withheld from a holdout shopper.")
    variant = models.CharField(max_length=32, help_text="persona:<id> or original")
    holdout = models.BooleanField()
    shown_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["shop", "shown_at"]), models.Index(fields=["product", "shown_at"])]


class WebhookTopic(models.TextChoices):
    LISTING_PUBLISHED = "listing.published"
    LISTING_RETIRED = "listing.retired"
    REPORT_READY = "report.ready"


class WebhookEndpoint(models.Model):
    """Where a shop wants to hear about its listings. Deliveries are signed with `secret`, which the
    owner copies into the receiving end (so it is stored readable)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    topics = models.JSONField(default=list, blank=True, help_text="Topics to send; empty: all of them.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One announcement to one endpoint and how its attempts went. `delivery_id` is sent as the
    webhook id, the same on every attempt, so the receiver can drop repeats."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_deliveries", db_index=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=40, unique=True)
    topic = models.CharField(max_length=40, choices=WebhookTopic.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "created_at"])]

    def __str__(self) -> str:
        return f"{self.topic} → {self.endpoint_id} ({self.status})"
