import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
os.environ.setdefault("SERVER_MODE", "wsgi")  # persistent PostgreSQL connections (settings)
application = get_wsgi_application()

# Load the ICD-10-CM index and warm WeasyPrint up before the first request (caseload/startup.py).
from caseload import startup  # noqa: E402

startup.warm_up()
