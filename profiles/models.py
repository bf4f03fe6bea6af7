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
    # uniq_customer_per_shop leads with shop, so the FK needs no index of its own (one less per insert).
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customers", db_index=False)
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

    # The composite indexes below lead with these columns, so the FKs need no index of their own
    # (the ingest benchmark measured 25 % more insert throughput without the redundant ones).
    # No foreign-key constraints in the database either: Postgres checks each inserted row with
    # its own query, deferred to the commit, which took 25 of ~55 CPU-µs a row in a COPY of
    # events and about a quarter of the batch API's database time. Ingestion is the only writer
    # and resolves every id inside its own transaction; deleting a shop, customer or product
    # goes through the ORM, whose cascade deletes their events (tests/profiles/test_event_references.py).
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events", db_index=False,
                             db_constraint=False)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=EventType.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events", db_index=False,
                                 db_constraint=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="events",
                                db_index=False, db_constraint=False)
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


class PersonaClustering(models.Model):
    """A shop's current clustering: the vocabulary customers are embedded in and when it was fitted."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="persona_clustering")
    vocabulary = models.JSONField(default=list)
    idf = models.JSONField(default=list)
    k = models.PositiveSmallIntegerField(default=0)
    silhouette = models.FloatField(null=True, blank=True)
    k_scores = models.JSONField(default=dict, blank=True, help_text="Silhouette per k tried.")
    note = models.CharField(max_length=300, blank=True)
    customers_at_fit = models.PositiveIntegerField(default=0)
    changed_since_fit = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(null=True, blank=True)
    refresh_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"clustering of {self.shop} v{self.version}"


class Persona(models.Model):
    """A cluster of customers. Ids stay stable across re-clusters (new centroids are matched to old)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="personas")
    name = models.CharField(max_length=120)
    is_new_visitors = models.BooleanField(default=False, help_text="Customers with too little signal yet.")
    size = models.PositiveIntegerField(default=0)
    centroid = models.JSONField(default=dict, blank=True, help_text="{word: weight} in the clustering's space")
    top_keywords = models.JSONField(default=list, blank=True, help_text="[[word, weight], …]")
    demand_mix = models.JSONField(default=dict, blank=True, help_text="{L0: share, …, L5: share}")
    sentiment = models.FloatField(null=True, blank=True, help_text="Mean probability that a review is positive.")
    kansei = models.JSONField(default=dict, blank=True, help_text="{word: score in [0, 1]} for the six Kansei words")
    positive_opinions = models.JSONField(default=list, blank=True)
    negative_opinions = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "retired_at"])]

    def __str__(self) -> str:
        return self.name


class CustomerProfile(models.Model):
    """What we learnt about one customer from their events."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="profile")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customer_profiles")
    persona = models.ForeignKey(Persona, on_delete=models.SET_NULL, null=True, blank=True, related_name="members")
    keywords = models.JSONField(default=dict, help_text="{word: weight} from TextRank, weighted by event type")
    products = models.JSONField(default=dict, help_text="{product pk: weight}, weighted by event type")
    demand_mix = models.JSONField(default=dict)
    sentiment = models.FloatField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    review_count = models.PositiveIntegerField(default=0)
    distance = models.FloatField(null=True, blank=True, help_text="Distance to the persona's centroid.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "persona"])]


class ReviewAnalysis(models.Model):
    """One review event, analysed: sentiment, demand type, keywords."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="analysis")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="review_analyses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="review_analyses")
    sentiment = models.FloatField(help_text="Probability the review is positive.")
    is_demand = models.BooleanField(default=False)
    demand_type = models.CharField(max_length=2, blank=True)
    keywords = models.JSONField(default=list)
    analysed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "customer"])]


class SentimentAdaptation(models.Model):
    """One attempt to adapt the sentiment model to a shop from its star ratings: a versioned artefact.

    ``head`` is the shop's safetensors head (profiles.nlp.shop_sentiment.ShopHead), empty when the attempt
    was refused (``reason`` says why: too few ratings, all 4-5 stars) or lost to the base model on the
    shop's held-out rated reviews. Only the shop's latest attempt with ``used`` is ever applied, and only
    to that shop's reviews.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="sentiment_adaptations")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    rated_reviews = models.PositiveIntegerField(help_text="Reviews rated 1-2 or 4-5 stars when it ran.")
    trained_on = models.PositiveIntegerField(default=0)
    held_out = models.PositiveIntegerField(default=0)
    base_accuracy = models.FloatField(null=True, blank=True, help_text="Base model, held-out rated reviews.")
    validation_accuracy = models.FloatField(null=True, blank=True, help_text="Shop model, same reviews.")
    used = models.BooleanField(default=False)
    reason = models.CharField(max_length=300)
    head = models.BinaryField(blank=True, default=b"")
    base_model = models.CharField(max_length=16, blank=True, default="",
                                  help_text="Fingerprint of the base model the head was made for; a head is "
                                            "only applied on top of that same base model.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "version"], name="uniq_sentiment_adaptation_version")]
        ordering = ["shop", "-version"]

    def __str__(self) -> str:
        return f"{self.shop} sentiment v{self.version} ({'used' if self.used else 'not used'})"


class StoreConnection(models.Model):
    """How a store reaches shop-ai without an API key: signed webhooks and the browser snippet.

    The webhook secret is kept readable (not hashed like API keys): the owner copies it into their
    store, and shop-ai needs it to check signatures. After a rotation the previous secret keeps
    working until `previous_secret_expires_at`, so deliveries signed in flight are not lost."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="store_connection")
    webhook_secret = models.CharField(max_length=100)
    previous_webhook_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    publishable_key = models.CharField(max_length=40, unique=True,
                                       help_text="For the browser snippet; not a secret (it is in the page).")
    allowed_origins = models.JSONField(default=list, blank=True,
                                       help_text="Storefront origins the snippet may send from; empty: any.")
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    shopify_secret = models.CharField(max_length=200, blank=True,
                                      help_text="The signing secret Shopify shows for its webhooks; lets Shopify "
                                                "deliver directly, signed with X-Shopify-Hmac-Sha256.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"connection of {self.shop}"


class InboundWebhook(models.Model):
    """A webhook delivery we stored, by the sender's id: a replay of the same id stores nothing again."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="inbound_webhooks")
    source = models.CharField(max_length=32)
    webhook_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField()
    products = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "source", "webhook_id"],
                                               name="uniq_inbound_webhook_per_shop")]
        indexes = [models.Index(fields=["shop", "received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.webhook_id}"
