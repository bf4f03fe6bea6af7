from django.apps import AppConfig


class ShopAiConfig(AppConfig):
    """The project app: the store simulator and the `demo` / `simulate_store` commands."""

    name = "shop_ai"
    verbose_name = "shop-ai"
