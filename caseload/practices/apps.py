from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "caseload.practices"
    label = "practices"
    default_auto_field = "django.db.models.BigAutoField"
