"""Error reports carry no clinical text (SECURITY U3)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class SensitiveDataExceptionReporterFilter(SafeExceptionReporterFilter):
    """Hide every POST value: on Caseload almost any form field may hold health information."""

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, Any]:
        if request is None:
            return {}
        return {key: self.cleansed_substitute for key in request.POST}
