"""Admin for operators: every shop's dead letters (superusers), with a replay action."""

from django.contrib import admin, messages

from shop_ai.dead_letters import ReplayRefused, dead_letter_replay
from shop_ai.models import DeadLetter


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("id", "actor_name", "shop", "failed_at", "attempts", "reason", "replayed_at")
    list_filter = ("actor_name", "queue_name", ("replayed_at", admin.EmptyFieldListFilter))
    search_fields = ("message_id", "reason")
    readonly_fields = [field.name for field in DeadLetter._meta.fields]
    actions = ["replay"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay the selected dead letters")
    def replay(self, request, queryset):
        done = 0
        for letter in queryset:
            try:
                dead_letter_replay(letter=letter)
                done += 1
            except ReplayRefused as exc:
                self.message_user(request, str(exc), level=messages.WARNING)
        self.message_user(request, f"{done} dead letter(s) sent again.")
