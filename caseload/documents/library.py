"""The template library shipped with Caseload (DOC-1), as TOML files in `library/`.

Library templates are data, not code: `sync_library` records each file as a template and adds
a new version when a file's content changed. It runs after every `manage.py migrate` (so at
deploy time), from `manage.py sync_document_library` and from the demo loader — never while a
page reads the library. Documents already assigned keep the version they were assigned with.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS, transaction

from caseload.documents.fields import FieldType, clean_field_specs
from caseload.documents.models import DocumentTemplate, TemplateVersion, content_hash

LIBRARY_DIR = Path(__file__).parent / "library"
#: The order therapists see them in.
LIBRARY_ORDER = ("intake", "phq9", "gad7", "consent", "privacy")


@cache
def library_files() -> dict[str, dict[str, Any]]:
    """Parse and check every library file once per process."""
    entries: dict[str, dict[str, Any]] = {}
    for key in LIBRARY_ORDER:
        data = tomllib.loads((LIBRARY_DIR / f"{key}.toml").read_text(encoding="utf-8"))
        scale = data.get("scale", {}).get("options")
        specs = []
        for field in data["fields"]:
            field = dict(field)
            if scale and "type" not in field:  # a questionnaire item on the shared scale
                field.update(type=FieldType.SINGLE_CHOICE, options=scale, scored=True)
            specs.append(field)
        entries[key] = {
            "key": data["key"],
            "title": data["title"],
            "kind": data["kind"],
            "intro": data.get("intro", "").strip(),
            "scoring": data.get("scoring", ""),
            "fields": clean_field_specs(specs),
        }
    return entries


def sync_library(using: str = DEFAULT_DB_ALIAS) -> list[TemplateVersion]:
    """The latest version of every library file, recording any that is new or changed.

    One query when nothing changed (the usual case); the writes happen only after a deploy
    that changed a file.
    """
    files = library_files()
    latest: dict[str, TemplateVersion] = {}
    for version in (
        TemplateVersion.objects.using(using)
        .filter(template__library_key__in=list(files))
        .select_related("template")
        .order_by("template_id", "-number")
    ):
        latest.setdefault(version.template.library_key or "", version)
    if all(
        key in latest
        and latest[key].content_hash
        == content_hash(entry["title"], entry["intro"], entry["fields"], entry["scoring"])
        for key, entry in files.items()
    ):
        return [latest[key] for key in files]
    with transaction.atomic(using=using):
        return _record_library(files, using)


def _record_library(files: dict[str, dict[str, Any]], using: str) -> list[TemplateVersion]:
    templates = DocumentTemplate.objects.db_manager(using)
    recorded: list[TemplateVersion] = []
    for key, entry in files.items():
        template, _ = templates.get_or_create(
            library_key=key, defaults={"title": entry["title"], "kind": entry["kind"]}
        )
        template = templates.select_for_update().get(pk=template.pk)
        digest = content_hash(entry["title"], entry["intro"], entry["fields"], entry["scoring"])
        version = template.versions.order_by("-number").first()
        if version is None or version.content_hash != digest:
            version = TemplateVersion.objects.db_manager(using).create(
                template=template,
                number=(version.number + 1) if version else 1,
                title=entry["title"],
                intro=entry["intro"],
                fields=entry["fields"],
                scoring=entry["scoring"],
            )
            templates.filter(pk=template.pk).update(title=entry["title"], kind=entry["kind"])
        recorded.append(version)
    return recorded


def sync_library_after_migrate(
    sender: AppConfig, *, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS, **kwargs: Any
) -> None:
    """`post_migrate` receiver (connected for the documents app only, in `apps.py`): record
    the library once the tables exist — after `migrate`, and after `flush` (which sends no
    `apps`). Skipped when the documents tables were just unapplied (`migrate documents
    zero`)."""
    try:
        apps.get_model("documents", "TemplateVersion")
    except LookupError:
        return
    sync_library(using)
