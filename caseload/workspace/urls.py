from django.urls import path

from caseload.workspace import views

app_name = "workspace"

urlpatterns = [
    path("", views.client_index, name="index"),
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
]
