from django.urls import path

from caseload.documents import views

app_name = "documents"

urlpatterns = [
    path("<uuid:client_id>/documents/assign/", views.assign, name="assign"),
    # "Show earlier documents" on the Documents tab (htmx; the tab itself is the workspace's).
    path("<uuid:client_id>/documents/earlier/", views.document_rows, name="earlier"),
    path("<uuid:client_id>/documents/schedule/", views.schedule_create, name="schedule"),
    path(
        "<uuid:client_id>/documents/schedule/<uuid:schedule_id>/stop/",
        views.schedule_stop,
        name="schedule_stop",
    ),
    path(
        "<uuid:client_id>/documents/<uuid:document_id>/",
        views.document_detail,
        name="document",
    ),
    path(
        "<uuid:client_id>/documents/<uuid:document_id>/pdf/",
        views.document_pdf,
        name="document_pdf",
    ),
    path(
        "<uuid:client_id>/documents/<uuid:document_id>/review/",
        views.document_review,
        name="document_review",
    ),
    path(
        "<uuid:client_id>/documents/<uuid:document_id>/follow-up/",
        views.document_follow_up,
        name="document_follow_up",
    ),
    path(
        "<uuid:client_id>/documents/<uuid:document_id>/remind/",
        views.document_remind,
        name="document_remind",
    ),
]

template_patterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_new, name="new"),
    path("<uuid:template_id>/", views.template_detail, name="detail"),
    path("<uuid:template_id>/edit/", views.template_edit, name="edit"),
    path("<uuid:template_id>/archive/", views.template_archive, name="archive"),
]
