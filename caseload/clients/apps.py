from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "caseload.clients"
    label = "clients"
    default_auto_field = "django.db.models.BigAutoField"
