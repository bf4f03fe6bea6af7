from django.contrib import admin

from profiles.models import ApiKey, Customer, Event, FailedEvent, Product, Shop


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "timezone", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("staff",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "shop", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("shop", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "shop", "first_seen_at", "last_seen_at", "profile_stale_since")
    list_filter = ("shop",)
    search_fields = ("external_id",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("external_id", "title", "shop", "category", "price", "updated_at")
    list_filter = ("shop", "category")
    search_fields = ("external_id", "title")


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
