"""The browser snippet (shop-ai.js) and its view; the django-oscar app is in shop_ai_connect.oscar."""
