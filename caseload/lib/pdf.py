"""PDF export with WeasyPrint (TP-6): real text, fetching nothing outside our static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse


class StaticFilesOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
    """Resolve /static/… to the app's own files and refuse every other URL (SECURITY V3)."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        path = url.removeprefix("file://")
        if path.startswith(prefix):
            found = finders.find(path.removeprefix(prefix))
            if isinstance(found, str):
                return super().fetch(Path(found).as_uri(), headers)
        raise ValueError(f"PDF rendering may not fetch {url!r}")


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, context)
    document = HTML(string=html, base_url="file:///", url_fetcher=StaticFilesOnlyFetcher())
    return bytes(document.write_pdf())
