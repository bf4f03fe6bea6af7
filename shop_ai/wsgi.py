import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_ai.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402

if settings.EMBEDDED_WORKER:
    from shop_ai.broker import start_embedded_worker

    start_embedded_worker()
