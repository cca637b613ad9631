from django.urls import path

from caseload.practices import views

app_name = "practices"

urlpatterns = [
    path("", views.practice_settings, name="settings"),
    path("audit/", views.audit_log, name="audit_log"),
]
