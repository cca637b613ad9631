"""PDF export with WeasyPrint (TP-6): real text, fetching nothing outside our static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from django.templatetags.static import static
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse


def static_file(name: str) -> Path | None:
    """The file behind a static URL's name, under any storage.

    With the manifest storage (production) `{% static %}` gives a hashed name such as
    `caseload/plan-print.3f2a….css`, which the finders (they look in the apps' sources) don't
    know: look in the collected files first, then map the hashed name back to its source.
    """
    name = name.split("?", 1)[0].split("#", 1)[0]
    if ".." in Path(name).parts:
        return None
    root = getattr(settings, "STATIC_ROOT", None)
    if root:
        collected = Path(root, name)
        if collected.is_file():
            return collected
    unhashed = {hashed: source for source, hashed in _hashed_names().items()}.get(name, name)
    found = finders.find(unhashed)
    return Path(found) if isinstance(found, str) else None


def _hashed_names() -> dict[str, str]:
    hashed = getattr(staticfiles_storage, "hashed_files", None)
    return dict(hashed) if hashed else {}


class StaticFilesOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
    """Resolve /static/… to the app's own files and refuse every other URL (SECURITY V3)."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        path = url.removeprefix("file://")
        if path.startswith(prefix):
            found = static_file(path.removeprefix(prefix))
            if found is not None:
                return super().fetch(found.as_uri(), headers)
        raise ValueError(f"PDF rendering may not fetch {url!r}")


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, context)
    document = HTML(string=html, base_url="file:///", url_fetcher=StaticFilesOnlyFetcher())
    return bytes(document.write_pdf())


def warm_up() -> None:
    """Render a tiny document with the print stylesheet, so that the first real PDF of a
    process doesn't pay for loading fonts (fontconfig, Pango) and WeasyPrint's own styles."""
    html = (
        f'<link rel="stylesheet" href="{static("caseload/plan-print.css")}">'
        "<h1>Caseload</h1><p>Warm <strong>up</strong></p><p class=hash>0</p>"
    )
    HTML(string=html, base_url="file:///", url_fetcher=StaticFilesOnlyFetcher()).write_pdf()
