from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles"

    def ready(self) -> None:
        # Declare this app's actors (and their queues) in every process, not only in rundramatiq:
        # the web process and the embedded worker send to and consume from them too.
        from profiles import actors  # noqa: F401
