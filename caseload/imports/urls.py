from django.urls import path

from caseload.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_upload, name="upload"),
    path("<uuid:import_id>/columns/", views.import_mapping, name="mapping"),
    path("<uuid:import_id>/preview/", views.import_preview, name="preview"),
    path("<uuid:import_id>/", views.import_progress, name="progress"),
    path("<uuid:import_id>/report.csv", views.import_report, name="report"),
    path("<uuid:import_id>/invitations/", views.import_send_invitations, name="invitations"),
]
