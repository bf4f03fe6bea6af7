from django.contrib import admin

from profiles.models import (
    ApiKey,
    Customer,
    CustomerProfile,
    Event,
    FailedEvent,
    InboundWebhook,
    Persona,
    PersonaClustering,
    Product,
    ReviewAnalysis,
    SentimentAdaptation,
    Shop,
    StoreConnection,
)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "timezone", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("staff",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "shop", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("shop", "revoked_at")
    search_fields = ("prefix", "label")
    list_select_related = ("shop",)
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "shop", "first_seen_at", "last_seen_at", "profile_stale_since")
    list_filter = ("shop",)
    search_fields = ("external_id",)
    list_select_related = ("shop",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("external_id", "title", "shop", "category", "price", "updated_at")
    list_filter = ("shop", "category")
    search_fields = ("external_id", "title")
    list_select_related = ("shop",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "shop", "customer", "product", "occurred_at", "unit_price", "quantity")
    list_filter = ("shop", "type")
    search_fields = ("event_id",)
    list_select_related = ("shop", "customer", "product")
    raw_id_fields = ("customer", "product")
    date_hierarchy = "occurred_at"


@admin.register(FailedEvent)
class FailedEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "shop", "source", "received_at", "errors")
    list_filter = ("shop", "source")
    search_fields = ("event_id",)
    list_select_related = ("shop",)
    date_hierarchy = "received_at"


@admin.register(PersonaClustering)
class PersonaClusteringAdmin(admin.ModelAdmin):
    list_display = ("shop", "version", "k", "silhouette", "customers_at_fit", "changed_since_fit", "fitted_at")
    list_select_related = ("shop",)
    readonly_fields = ("vocabulary", "idf", "k_scores")


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "size", "sentiment", "is_new_visitors", "version", "updated_at", "retired_at")
    list_filter = ("shop", "is_new_visitors", "retired_at")
    search_fields = ("name",)
    list_select_related = ("shop",)


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = ("customer", "shop", "persona", "event_count", "review_count", "sentiment", "updated_at")
    list_filter = ("shop",)
    search_fields = ("customer__external_id",)
    list_select_related = ("customer", "shop", "persona")
    raw_id_fields = ("customer", "persona")


@admin.register(ReviewAnalysis)
class ReviewAnalysisAdmin(admin.ModelAdmin):
    list_display = ("event", "customer", "shop", "sentiment", "is_demand", "demand_type", "analysed_at")
    list_filter = ("shop", "is_demand", "demand_type")
    search_fields = ("customer__external_id", "event__event_id")
    list_select_related = ("event", "customer", "shop")
    raw_id_fields = ("event", "customer")


@admin.register(SentimentAdaptation)
class SentimentAdaptationAdmin(admin.ModelAdmin):
    list_display = ("shop", "version", "rated_reviews", "base_accuracy", "validation_accuracy", "used", "created_at")
    list_filter = ("used", "shop")
    list_select_related = ("shop",)
    exclude = ("head",)
    readonly_fields = ("shop", "version", "rated_reviews", "trained_on", "held_out", "base_accuracy",
                       "validation_accuracy", "used", "reason", "created_at")


@admin.register(StoreConnection)
class StoreConnectionAdmin(admin.ModelAdmin):
    list_display = ("shop", "publishable_key", "secret_rotated_at", "created_at")
    list_select_related = ("shop",)
    readonly_fields = ("webhook_secret", "previous_webhook_secret", "previous_secret_expires_at", "secret_rotated_at",
                       "publishable_key", "created_at")


@admin.register(InboundWebhook)
class InboundWebhookAdmin(admin.ModelAdmin):
    list_display = ("received_at", "shop", "source", "topic", "webhook_id", "accepted", "duplicates", "rejected")
    list_filter = ("source", "shop")
    search_fields = ("webhook_id",)
    list_select_related = ("shop",)
    date_hierarchy = "received_at"
