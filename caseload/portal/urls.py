from django.urls import path

from caseload.documents import views as documents_views
from caseload.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("documents/", documents_views.portal_list, name="documents"),
    path("documents/<uuid:document_id>/", documents_views.portal_document, name="document"),
    path(
        "documents/<uuid:document_id>/submitted/",
        documents_views.portal_submitted,
        name="document_submitted",
    ),
    path("documents/<uuid:document_id>/pdf/", documents_views.portal_pdf, name="document_pdf"),
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
    # Sessions and session requests (SCH-2).
    path("sessions/", views.portal_sessions_page, name="sessions"),
    path("sessions/<uuid:session_id>/cancel/", views.portal_session_cancel, name="session_cancel"),
    path("care/<uuid:care_id>/book/", views.portal_book, name="book"),
    path(
        "bookings/<uuid:booking_id>/withdraw/",
        views.portal_booking_withdraw,
        name="booking_withdraw",
    ),
]
