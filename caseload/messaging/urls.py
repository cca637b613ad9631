from django.urls import path

from caseload.messaging import views

app_name = "messaging"

urlpatterns = [
    # The therapist: the conversation lives in the client's profile (section "Messaging").
    path("clients/<uuid:client_id>/messages/", views.staff_messages, name="messages"),
    path("clients/<uuid:client_id>/messages/send/", views.staff_send, name="send"),
    path("clients/<uuid:client_id>/messages/read/", views.staff_read, name="read"),
    # The client or guardian: one conversation per care relationship in the portal.
    path(
        "portal/messages/<uuid:conversation_id>/",
        views.portal_conversation,
        name="portal_conversation",
    ),
    path(
        "portal/messages/<uuid:conversation_id>/items/",
        views.portal_messages,
        name="portal_messages",
    ),
    path("portal/messages/<uuid:conversation_id>/send/", views.portal_send, name="portal_send"),
    path("portal/messages/<uuid:conversation_id>/read/", views.portal_read, name="portal_read"),
]
