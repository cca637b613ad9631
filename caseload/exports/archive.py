"""The export's ZIP: per client a folder with the readable PDF and the FHIR bundle."""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable

from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.exports.fhir import build_bundle
from caseload.exports.selectors import RecordData, record_data

README = """\
This archive holds the complete record kept in Caseload for {count} client(s), exported on
{when} (UTC).

Each folder holds one client's record twice:
- record.pdf: the whole record to read and print (profile, diagnoses, medications, sessions
  with their signed notes and addenda, treatment plans with every version, documents with
  their signatures and hashes, messages);
- fhir-bundle.json: the same record as a FHIR R4 bundle (type "collection") for another
  system to import.

It is confidential health information: keep it safe and delete it when you no longer need it.
"""


def folder_name(relationship: CareRelationship) -> str:
    """`maya-patel-1a2b3c4d`: readable, unique, and safe in any file system."""
    plain = unicodedata.normalize("NFKD", relationship.client_name)
    slug = re.sub(r"[^a-z0-9]+", "-", plain.encode("ascii", "ignore").decode().lower()).strip("-")
    return f"{slug or 'client'}-{str(relationship.client.public_id)[:8]}"


def record_pdf(data: RecordData) -> bytes:
    from caseload.lib.pdf import render_pdf  # WeasyPrint loads slowly: only when exporting

    # Times are shown in the practice's time zone, as on its pages.
    with timezone.override(data.relationship.practice.time_zone):
        return render_pdf(
            "exports/record_pdf.html", {"record": data, "generated_at": timezone.now()}
        )


def build_archive(
    relationships: Iterable[CareRelationship],
    *,
    progress: Callable[[int], object] = lambda done: None,
) -> bytes:
    """The ZIP for these records; `progress(n)` is called after each client's folder."""
    relationships = list(relationships)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            README.format(count=len(relationships), when=timezone.now().strftime("%Y-%m-%d %H:%M")),
        )
        for done, relationship in enumerate(relationships, 1):
            data = record_data(relationship)
            folder = folder_name(data.relationship)
            archive.writestr(f"{folder}/record.pdf", record_pdf(data))
            bundle = json.dumps(build_bundle(data), indent=2, ensure_ascii=False)
            archive.writestr(f"{folder}/fhir-bundle.json", bundle)
            progress(done)
    return buffer.getvalue()
