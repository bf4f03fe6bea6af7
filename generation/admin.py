from django.contrib import admin

from generation.models import (
    Exposure,
    GeneratedImage,
    GenerationJob,
    GenerationSettings,
    Listing,
    ListingAudit,
    ProductStaging,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(GenerationSettings)
class GenerationSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "holdout_share", "auto_approve_threshold", "daily_job_budget", "fidelity_threshold")
    search_fields = ("shop__name",)


class GeneratedImageInline(admin.TabularInline):
    model = GeneratedImage
    extra = 0
    fields = ("seed", "image", "preview", "scene", "fidelity", "accepted", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(ProductStaging)
class ProductStagingAdmin(admin.ModelAdmin):
    list_display = ("product", "shop", "source", "confidence_flagged", "confirmed_at", "confirmed_actor",
                    "customisable", "updated_at")
    list_filter = ("source", "customisable", "shop")
    search_fields = ("product__external_id", "product__title")
    raw_id_fields = ("product",)
    readonly_fields = ("photo_digest", "updated_at")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "shop", "product", "persona", "persona_version", "status", "progress", "attempts",
                    "created_at", "finished_at")
    list_filter = ("status", "backend", "shop")
    search_fields = ("product__external_id", "product__title", "persona__name", "error")
    list_select_related = ("shop", "product", "persona")
    raw_id_fields = ("product", "persona")
    date_hierarchy = "created_at"
    inlines = [GeneratedImageInline]


@admin.register(GeneratedImage)
class GeneratedImageAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "seed", "fidelity", "accepted", "created_at")
    list_filter = ("accepted",)
    search_fields = ("job__product__external_id",)
    list_select_related = ("job",)
    raw_id_fields = ("job",)


class ListingAuditInline(admin.TabularInline):
    model = ListingAudit
    extra = 0
    fields = ("action", "actor", "user", "at")
    readonly_fields = fields
    can_delete = False


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "shop", "product", "persona", "status", "fidelity", "published_at", "retired_at")
    list_filter = ("status", "shop")
    search_fields = ("title", "product__external_id", "product__title", "persona__name")
    list_select_related = ("shop", "product", "persona")
    raw_id_fields = ("product", "persona", "job", "image")
    date_hierarchy = "created_at"
    inlines = [ListingAuditInline]


@admin.register(ListingAudit)
class ListingAuditAdmin(admin.ModelAdmin):
    list_display = ("listing", "action", "actor", "user", "at")
    list_filter = ("action",)
    search_fields = ("actor", "listing__title")
    list_select_related = ("listing", "user")
    raw_id_fields = ("listing", "user")


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    list_display = ("shown_at", "shop", "customer_external_id", "product", "variant", "holdout")
    list_filter = ("holdout", "shop")
    search_fields = ("customer_external_id", "product__external_id")
    list_select_related = ("shop", "product")
    raw_id_fields = ("customer", "product", "listing")
    date_hierarchy = "shown_at"


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "shop", "topics", "is_active", "created_at")
    list_filter = ("is_active", "shop")
    list_select_related = ("shop",)
    readonly_fields = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "shop", "topic", "endpoint", "status", "attempts", "response_status")
    list_filter = ("status", "topic", "shop")
    search_fields = ("delivery_id",)
    list_select_related = ("shop", "endpoint")
    raw_id_fields = ("endpoint",)
    date_hierarchy = "created_at"
