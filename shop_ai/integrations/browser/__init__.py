"""The browser snippet (shop-ai.js) and the view that serves it."""
