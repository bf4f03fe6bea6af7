from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from oscar.core.loading import get_model

from shop_ai_connect.client import ShopAIClient, ShopAIError
from shop_ai_connect.oscar.events import product_fields, product_id_for, product_photo

Product = get_model("catalogue", "Product")


class Command(BaseCommand):
    help = ("Send every product (with its primary photo) to shop-ai. Run it once after installing the app, "
            "and again after adding photos: saves of a product send its text and price, not its photo.")

    def handle(self, *args, **options):
        config = settings.SHOP_AI
        sent = 0
        with ShopAIClient(config["URL"], config["API_KEY"]) as client:
            for product in Product.objects.filter(parent__isnull=True).order_by("id").iterator():
                try:
                    client.upsert_product(product_id_for(product), image=product_photo(product),
                                          **product_fields(product))
                except ShopAIError as refused:
                    raise CommandError(f"shop-ai refused product {product.pk}: {refused}") from refused
                sent += 1
        self.stdout.write(f"Sent {sent} products to shop-ai.")
