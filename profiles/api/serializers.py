"""Input/output serializers of the profiles API.

The event serializers only describe the contract in the OpenAPI schema; events are checked by
the lean validator in `profiles.ingestion.validation`, which holds the same rules.
"""

from rest_framework import serializers

from profiles.ingestion.validation import EVENT_TYPES, MAX_ID_CHARS, MAX_QUANTITY, MAX_TEXT_CHARS


class EventSchema(serializers.Serializer):
    event_id = serializers.CharField(max_length=MAX_ID_CHARS, help_text="Client-chosen, unique per shop; "
                                     "a replay with the same id is counted as a duplicate and not stored twice.")
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    customer_id = serializers.CharField(max_length=MAX_ID_CHARS)
    product_id = serializers.CharField(max_length=MAX_ID_CHARS, required=False,
                                       help_text="Required for view, add_to_cart, purchase and refund; "
                                                 "the product must exist (PUT /api/v1/products/{id}).")
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; without a zone it is taken as UTC.")
    sent_at = serializers.DateTimeField(required=False, help_text="When the client sent the event, by its own "
                                        "clock; the difference to our clock is removed from occurred_at.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False, default=1)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                          help_text="Required for purchase and refund; a JSON number or string.")
    currency = serializers.CharField(min_length=3, max_length=3, required=False,
                                     help_text="Defaults to, and must equal, the shop's currency.")
    text = serializers.CharField(max_length=MAX_TEXT_CHARS, required=False, help_text="Review text.")
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    properties = serializers.DictField(required=False, help_text="Free-form custom data.")


class EventBatchSchema(serializers.Serializer):
    events = EventSchema(many=True, help_text="At most 500 events, each at most 32 KB; at most 1 MB a request.")
    sent_at = serializers.DateTimeField(required=False, help_text="Applies to events without their own sent_at.")


class RejectedEventSchema(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.CharField())


class IngestResultSchema(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = RejectedEventSchema(many=True)


class EventOutput(serializers.Serializer):
    event_id = serializers.CharField()
    type = serializers.CharField()
    customer_id = serializers.CharField(source="customer.external_id")
    product_id = serializers.CharField(source="product.external_id", allow_null=True, default=None)
    occurred_at = serializers.DateTimeField()
    client_occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    quantity = serializers.IntegerField(allow_null=True)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    text = serializers.CharField()
    rating = serializers.IntegerField(allow_null=True)
    properties = serializers.DictField(allow_null=True)


class FailedEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    source = serializers.CharField()
    errors = serializers.JSONField()
    payload = serializers.JSONField()
    received_at = serializers.DateTimeField()


class ProductInput(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    category = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list,
                                 max_length=50)
    image = serializers.ImageField(required=False, help_text="PNG, JPEG or WebP; multipart upload.")


class ProductOutput(serializers.Serializer):
    product_id = serializers.CharField(source="external_id")
    title = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    image_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_image_url(self, product) -> str | None:
        if not product.image:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(product.image.url) if request else product.image.url


class ErrorSchema(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False)


class PersonaOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_new_visitors = serializers.BooleanField()
    size = serializers.IntegerField()
    top_keywords = serializers.ListField(child=serializers.ListField(), help_text="[[word, weight], …]")
    demand_mix = serializers.DictField(child=serializers.FloatField())
    sentiment = serializers.FloatField(allow_null=True, help_text="Mean probability that a review is positive.")
    kansei = serializers.DictField(child=serializers.FloatField())
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class PersonaDetailOutput(PersonaOutput):
    positive_opinions = serializers.JSONField()
    negative_opinions = serializers.JSONField()


class ReviewAnalysisOutput(serializers.Serializer):
    event_id = serializers.CharField(source="event.event_id")
    occurred_at = serializers.DateTimeField(source="event.occurred_at")
    text = serializers.CharField(source="event.text")
    sentiment = serializers.FloatField()
    label = serializers.SerializerMethodField()
    is_demand = serializers.BooleanField()
    demand_type = serializers.CharField()
    keywords = serializers.ListField(child=serializers.CharField())

    def get_label(self, analysis) -> str:
        return "pos" if analysis.sentiment >= 0.5 else "neg"


class CustomerProfileOutput(serializers.Serializer):
    customer_id = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    profiled_at = serializers.DateTimeField(allow_null=True)
    persona = PersonaOutput(allow_null=True)
    keywords = serializers.ListField(child=serializers.ListField(), help_text="[[word, weight], …] best first")
    demand_mix = serializers.DictField(child=serializers.FloatField())
    sentiment = serializers.FloatField(allow_null=True)
    event_count = serializers.IntegerField()
    recent_reviews = ReviewAnalysisOutput(many=True)
