"""ASGI entry point: Django for HTTP, the live channel for websockets (decision 0011).

Serve with daphne (`daphne caseload.asgi:application`, or `manage.py runserver`, which daphne
takes over) or any ASGI server that speaks websockets.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
os.environ.setdefault("SERVER_MODE", "asgi")  # PostgreSQL connections from a pool (settings)
# Set up Django before importing anything that touches models.
django.setup(set_prefix=False)

from caseload.lib.handlers import SyncMiddlewareASGIHandler  # noqa: E402

# Django's ASGI handler, with the middleware entered once per request (lib/handlers.py).
django_application = SyncMiddlewareASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from caseload import startup  # noqa: E402
from caseload.messaging.routing import websocket_urlpatterns  # noqa: E402

# Load the ICD-10-CM index and warm WeasyPrint up before the first request (caseload/startup.py).
startup.warm_up()

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # Only pages of this site may open the socket (cross-site websocket hijacking).
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
