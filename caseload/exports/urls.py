from django.urls import path

from caseload.exports import views

app_name = "exports"

urlpatterns = [
    path("clients/<uuid:client_id>/export/", views.export_client, name="client"),
    path("exports/", views.export_index, name="index"),
    path("exports/practice/", views.export_practice, name="practice"),
    path("exports/<uuid:export_id>/", views.export_status, name="status"),
    path("exports/<uuid:export_id>/download/", views.export_download, name="download"),
]
