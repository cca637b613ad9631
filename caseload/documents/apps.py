from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "caseload.documents"
    label = "documents"
    verbose_name = "Documents"
