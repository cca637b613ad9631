"""The client import runs in the task worker: a file of thousands of rows outlasts a request."""

from __future__ import annotations

from django.tasks import task

from caseload.imports import services


@task()
def run_client_import(client_import_id: int) -> str:
    client_import = services.import_run(client_import_id=client_import_id)
    counts = services.outcome_counts(client_import)
    return ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
