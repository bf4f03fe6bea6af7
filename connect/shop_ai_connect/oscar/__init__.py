"""shop-ai for django-oscar: add "shop_ai_connect.oscar" to INSTALLED_APPS and set

    SHOP_AI = {"URL": "https://shop-ai.example.com", "API_KEY": "sk_…"}

Oscar's signals (product viewed, basket addition, order placed, review added) become shop-ai events
sent in batches by a background thread; `{% shop_ai_image product as url %}` gives the image drawn
for the shopper's persona. Talks to shop-ai over HTTP only (`shop_ai_connect.client`): no shop-ai models
or database in the Oscar project.
"""
