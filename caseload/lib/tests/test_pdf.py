"""PDFs are styled in production too: the fetcher finds the manifest storage's hashed names."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.template import Context, Template

from caseload.lib.pdf import StaticFilesOnlyFetcher, render_pdf, static_file

MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


@pytest.fixture
def manifest_storage(settings: Any, tmp_path: Path) -> Path:
    """Production's storage: collected files with hashed names and a manifest."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return Path(settings.STATIC_ROOT)


def stylesheet_url() -> str:
    return Template("{% load static %}{% static 'caseload/plan-print.css' %}").render(Context())


def test_the_hashed_stylesheet_of_the_manifest_storage_is_fetched(manifest_storage: Path) -> None:
    url = stylesheet_url()
    assert "plan-print." in url and not url.endswith("/plan-print.css")  # hashed

    fetched = StaticFilesOnlyFetcher().fetch("file://" + url)

    assert fetched is not None
    assert static_file(url.removeprefix("/static/")) is not None


def test_a_production_pdf_loads_its_stylesheet(
    manifest_storage: Path, caplog: pytest.LogCaptureFixture
) -> None:
    html = (
        "{% load static %}<html><head><link rel='stylesheet' "
        "href=\"{% static 'caseload/plan-print.css' %}\"></head><body><p>Plan</p></body></html>"
    )
    template_dir = manifest_storage.parent / "templates"
    template_dir.mkdir()
    (template_dir / "probe.html").write_text(html)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        from django.test import override_settings

        from caseload.settings import TEMPLATES

        with override_settings(TEMPLATES=[{**TEMPLATES[0], "DIRS": [template_dir]}]):
            pdf = render_pdf("probe.html", {})

    assert pdf.startswith(b"%PDF")
    assert not [record for record in caplog.records if "stylesheet" in record.getMessage().lower()]


def test_nothing_outside_the_static_files_is_fetched(manifest_storage: Path) -> None:
    for url in (
        "file:///etc/passwd",
        "file:///static/../../etc/passwd",
        "https://example.com/x.css",
    ):
        with pytest.raises(ValueError, match="may not fetch"):
            StaticFilesOnlyFetcher().fetch(url)


def test_a_long_unbroken_word_wraps_inside_the_page_in_text_and_in_a_table() -> None:
    from weasyprint import HTML

    word = "x" * 400  # a pasted link or a row of dashes: no place to break
    html = (
        f'<link rel="stylesheet" href="{stylesheet_url()}">'
        f"<p>{word}</p><table><tr><th>Answer</th><td>{word}</td></tr></table>"
    )
    document = HTML(string=html, base_url="file:///", url_fetcher=StaticFilesOnlyFetcher()).render()

    page = document.pages[0]
    right_edge = page.width - page._page_box.margin_right
    texts = [
        box
        for box in page._page_box.descendants()
        if type(box).__name__ == "TextBox" and "x" in box.text
    ]
    assert len(texts) > 2  # wrapped into several lines
    assert all(box.position_x + box.width <= right_edge + 0.5 for box in texts)
