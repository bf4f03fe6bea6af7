from django.apps import AppConfig


class GenerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "generation"

    def ready(self) -> None:
        # Declare this app's actors (and their queues) in every process, not only in rundramatiq:
        # the web process and the embedded worker send to and consume from them too.
        from generation import actors  # noqa: F401
