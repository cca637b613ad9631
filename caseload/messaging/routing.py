from django.urls import path

from caseload.messaging.consumers import LiveEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", LiveEventsConsumer.as_asgi()),
]
