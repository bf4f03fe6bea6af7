"""shop-ai-connect: what a store installs to talk to shop-ai, without shop-ai's own dependencies.

- `shop_ai_connect.client`: the Python client (typed, retrying, batching) and the webhook signature;
  needs only `requests`.
- `shop_ai_connect.oscar`: the django-oscar app (`pip install "shop-ai-connect[oscar]"`).
"""
