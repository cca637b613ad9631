"""Per-request set-up that needs the practice: its time zone for the staff's pages."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from caseload.practices.models import Membership


class PracticeTimeZoneMiddleware:
    """Show times in the practice's time zone to its staff (stored in UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = None
        if request.user.is_authenticated:
            # One query for membership and practice, kept on the user for the views.
            membership = (
                Membership.objects.select_related("practice")
                .filter(user_id=request.user.pk)
                .first()
            )
        if membership is not None:
            request.user.membership = membership  # type: ignore[union-attr]
            timezone.activate(ZoneInfo(membership.practice.time_zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # The thread serves other requests (and tasks) next: leave it on UTC.
            timezone.deactivate()
