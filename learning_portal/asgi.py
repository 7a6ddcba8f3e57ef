import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_portal.settings")
application = get_asgi_application()

from learning_portal.startup import require_production_secrets  # noqa: E402 - needs settings

require_production_secrets()
