from django.contrib import admin

from analytics.models import DailyProductStats, KanseiRating


@admin.register(DailyProductStats)
class DailyProductStatsAdmin(admin.ModelAdmin):
    list_display = ("day", "product", "shop", "net_revenue", "currency", "units", "views", "visitors", "buyers")
    list_filter = ("shop", "day")
    date_hierarchy = "day"
    raw_id_fields = ("product",)
    search_fields = ("product__external_id", "product__title")


@admin.register(KanseiRating)
class KanseiRatingAdmin(admin.ModelAdmin):
    list_display = ("product", "listing", "word", "score", "rater", "rater_kind", "shop", "rated_at")
    list_filter = ("shop", "word", "rater_kind")
    raw_id_fields = ("product", "listing")
    search_fields = ("rater", "product__external_id")
