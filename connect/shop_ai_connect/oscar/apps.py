from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class ShopAIOscarConfig(AppConfig):
    name = "shop_ai_connect.oscar"
    label = "shop_ai_oscar"
    verbose_name = "shop-ai for django-oscar"

    def ready(self) -> None:
        config = getattr(settings, "SHOP_AI", None)
        if not isinstance(config, dict) or not config.get("URL") or not config.get("API_KEY"):
            raise ImproperlyConfigured('Set SHOP_AI = {"URL": "https://<your shop-ai>", "API_KEY": "sk_…"} in '
                                       "settings (the key from `manage.py create_shop` or the shop-ai dashboard).")
        from shop_ai_connect.oscar import receivers  # noqa: F401 - connects the signal receivers
