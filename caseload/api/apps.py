from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The JSON API under /api/v1/ and the personal access tokens it is called with."""

    name = "caseload.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
