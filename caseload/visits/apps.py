from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "caseload.visits"
    label = "visits"
    default_auto_field = "django.db.models.BigAutoField"
