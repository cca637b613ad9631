from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """The clinician's workspace: My Clients list, the profile shell, badges, the home page."""

    name = "caseload.workspace"
    label = "workspace"
    default_auto_field = "django.db.models.BigAutoField"
