"""Mounted at "calendar/requests/": the therapist approves or declines a session request."""

from django.urls import path

from caseload.scheduling import booking_views

app_name = "booking"

urlpatterns = [
    path("<uuid:booking_id>/approve/", booking_views.approve, name="approve"),
    path("<uuid:booking_id>/decline/", booking_views.decline, name="decline"),
]
