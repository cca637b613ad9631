from django.urls import path

from caseload.clinical import views

app_name = "clinical"

urlpatterns = [
    path("<uuid:client_id>/diagnoses/", views.diagnosis_add, name="diagnosis_add"),
    path(
        "<uuid:client_id>/diagnoses/<uuid:diagnosis_id>/",
        views.diagnosis_update,
        name="diagnosis_update",
    ),
    path(
        "<uuid:client_id>/diagnoses/<uuid:diagnosis_id>/remove/",
        views.diagnosis_remove,
        name="diagnosis_remove",
    ),
    path("<uuid:client_id>/medications/", views.medication_add, name="medication_add"),
    path(
        "<uuid:client_id>/medications/<uuid:medication_id>/",
        views.medication_update,
        name="medication_update",
    ),
    path(
        "<uuid:client_id>/medications/<uuid:medication_id>/remove/",
        views.medication_remove,
        name="medication_remove",
    ),
    path("<uuid:client_id>/summary/", views.summary_update, name="summary_update"),
]
