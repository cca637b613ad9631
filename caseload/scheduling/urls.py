from django.urls import path

from caseload.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("new/", views.schedule, name="schedule"),
    path("sessions/<uuid:session_id>/", views.session_detail, name="session"),
    path("sessions/<uuid:session_id>/move/", views.session_move, name="session_move"),
    path("sessions/<uuid:session_id>/cancel/", views.session_cancel, name="session_cancel"),
    path("availability/", views.availability, name="availability"),
    path("availability/blocked/", views.blocked_add, name="blocked_add"),
    path(
        "availability/blocked/<uuid:blocked_id>/delete/",
        views.blocked_delete,
        name="blocked_delete",
    ),
]
