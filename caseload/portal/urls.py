from django.urls import path

from caseload.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path(
        "requests/<uuid:request_id>/approve/",
        views.portal_respond,
        {"answer": "approve"},
        name="approve",
    ),
    path(
        "requests/<uuid:request_id>/decline/",
        views.portal_respond,
        {"answer": "decline"},
        name="decline",
    ),
]
