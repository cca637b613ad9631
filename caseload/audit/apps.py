from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "caseload.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caseload.audit import signals  # noqa: F401  (connects the sign-in receivers)
