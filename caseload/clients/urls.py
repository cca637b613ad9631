from django.urls import path

from caseload.clients import views

app_name = "clients"

urlpatterns = [
    path("", views.client_index, name="index"),
    path("add/", views.client_add, name="add"),
    path("<uuid:client_id>/", views.client_detail, name="detail"),
    path(
        "<uuid:client_id>/personal/",
        views.client_update_section,
        {"section": "personal"},
        name="personal",
    ),
    path(
        "<uuid:client_id>/emergency/",
        views.client_update_section,
        {"section": "emergency"},
        name="emergency",
    ),
    path(
        "<uuid:client_id>/preferences/",
        views.client_update_section,
        {"section": "preferences"},
        name="preferences",
    ),
    path("<uuid:client_id>/archive/", views.client_archive, name="archive"),
    path("<uuid:client_id>/restore/", views.client_restore, name="restore"),
    path("<uuid:client_id>/remove/", views.client_remove, name="remove"),
    path("<uuid:client_id>/resend-invitation/", views.client_resend_invitation, name="resend"),
]
