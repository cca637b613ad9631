"""ASGI entry point of the benchmark's floor (see bench/floor.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor"
application = get_asgi_application()
