from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DocumentsConfig(AppConfig):
    name = "caseload.documents"
    label = "documents"
    verbose_name = "Documents"

    def ready(self) -> None:
        # Imported here, not at the top: library.py imports the models, which can only be
        # loaded once the app registry is ready (Django's usual place for signal wiring).
        from caseload.documents.library import sync_library_after_migrate

        post_migrate.connect(
            sync_library_after_migrate, sender=self, dispatch_uid="documents.sync_library"
        )
