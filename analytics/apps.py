from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"

    def ready(self) -> None:
        # Declare this app's actors (and their queue) in every process: ingestion sends to it by name.
        from analytics import actors  # noqa: F401
