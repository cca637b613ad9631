from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "caseload.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caseload.accounts import signals  # noqa: F401
