"""What shoppers did and who they are: shops, their API keys, customers, products, events."""

from django.conf import settings
from django.db import models


class Shop(models.Model):
    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, default="CNY")
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shops")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A shop's API key. Only a SHA-256 digest is stored; the key itself is shown once."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.shop})"


class Customer(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customers")
    external_id = models.CharField(max_length=100)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(help_text="When the last event of this customer was received.")
    profiled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the persona recompute last looked at this customer."
    )
    profile_stale_since = models.DateTimeField(
        null=True, blank=True, help_text="Set by the profiles queue when new events arrive; cleared by a recompute."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "external_id"], name="uniq_customer_per_shop")]
        indexes = [models.Index(fields=["shop", "profile_stale_since"])]

    def __str__(self) -> str:
        return self.external_id


def product_image_path(product: "Product", filename: str) -> str:
    return f"shops/{product.shop_id}/products/{product.external_id}/{filename}"


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    image = models.ImageField(upload_to=product_image_path, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "external_id"], name="uniq_product_per_shop")]
        indexes = [models.Index(fields=["shop", "category"])]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title}"


class EventType(models.TextChoices):
    VIEW = "view"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    REFUND = "refund"
    REVIEW = "review"


class Event(models.Model):
    """Append-only. `occurred_at` is the skew-corrected time; `client_occurred_at` what the client sent."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=EventType.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    occurred_at = models.DateTimeField()
    client_occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    text = models.TextField(blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    properties = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "event_id"], name="uniq_event_per_shop")]
        indexes = [
            models.Index(fields=["shop", "occurred_at"]),
            models.Index(fields=["customer", "occurred_at"]),
            models.Index(fields=["product", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class FailedEvent(models.Model):
    """An event we refused, kept with its reasons for the shop to inspect and resend (as Snowplow does)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="failed_events")
    event_id = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=32, default="api")
    payload = models.JSONField(null=True, blank=True, help_text="The event as received (truncated if huge).")
    errors = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["shop", "received_at"])]

    def __str__(self) -> str:
        return f"failed {self.event_id or '?'}"
