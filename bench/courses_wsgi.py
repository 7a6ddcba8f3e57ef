"""WSGI entry point of the courses benchmark: the project with bench/courses_settings.py."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.courses_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
