from typing import Any

from django.core.management.base import BaseCommand

from caseload.documents.library import sync_library


class Command(BaseCommand):
    help = (
        "Record the shipped document templates (a new version for every changed file). "
        "`migrate` does this too; run it to see the versions or after editing a file."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for version in sync_library():
            self.stdout.write(f"{version.template.library_key}: version {version.number}")
