import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_portal.settings")
application = get_wsgi_application()

from learning_portal.startup import require_production_secrets  # noqa: E402 - needs settings

require_production_secrets()
