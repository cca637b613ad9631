from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "caseload.messaging"
    label = "messaging"
    verbose_name = "Secure messaging"
    default_auto_field = "django.db.models.BigAutoField"
