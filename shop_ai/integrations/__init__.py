"""Ways to connect a store to shop-ai: the django-oscar app and the browser snippet."""
