"""Per-request set-up that needs the practice: its time zone for the staff's pages, and its
rule that staff sign in with a second factor."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from caseload.accounts.models import User
from caseload.lib.prepared import prepared
from caseload.practices.models import Membership
from caseload.practices.two_factor import has_second_factor

_USER_STAND_IN = -918_273_645_006


class PracticeTimeZoneMiddleware:
    """Show times in the practice's time zone to its staff (stored in UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = None
        if request.user.is_authenticated:
            # One query for membership and practice, kept on the user for the views; on every
            # request, so compiled once per process (`lib.prepared`).
            query = prepared(
                ("practices.membership",),
                lambda: Membership.objects.select_related("practice").filter(
                    user_id=_USER_STAND_IN
                ),
                {"user_id": _USER_STAND_IN},
            )
            found = query.run({"user_id": request.user.pk}, limit=1)
            membership = found[0] if found else None
        # For the middleware below: None for clients, guardians and anonymous visitors.
        request.practice_membership = membership  # type: ignore[attr-defined]
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


#: What a staff member who must still set up a second factor may open: allauth's two-factor
#: pages (set up, recovery codes, passkeys), reauthentication, email verification, signing out.
SET_UP_ALLOWED = {
    "account_logout",
    "account_reauthenticate",
    # allauth won't add a factor to an account whose address is unverified: let it verify.
    "account_email",
    "account_email_verification_sent",
    "account_confirm_email",
}

TOLD_SESSION_KEY = "caseload_two_factor_required_told"


class StaffTwoFactorMiddleware:
    """When the practice requires it, a staff member without an authenticator app or passkey
    can use nothing but the pages that set one up (the Django admin included).

    Sign-in itself asks for the factor (allauth's MFA stage); this covers the first sign-in
    after the practice turned the rule on. Runs after PracticeTimeZoneMiddleware, which
    loads the membership.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership: Membership | None = getattr(request, "practice_membership", None)
        if (
            membership is not None
            and membership.practice.staff_two_factor_required
            and isinstance(request.user, User)
            and not self._allowed(request.path_info)
            and not has_second_factor(request.user)
        ):
            if not request.session.get(TOLD_SESSION_KEY):  # said once, not on every redirect
                request.session[TOLD_SESSION_KEY] = True
                messages.warning(
                    request,
                    "Your practice requires two-factor sign-in for staff. Set up an "
                    "authenticator app or a security key (passkey) to continue.",
                )
            target = reverse("mfa_index")
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        try:
            match = resolve(path)
        except Resolver404:
            return False
        if match.namespaces:
            # allauth's pages have no namespace; the Django admin's do, and its pages for
            # allauth's models are named "mfa_authenticator_…": those stay closed.
            return False
        name = match.url_name or ""
        return name.startswith("mfa_") or name in SET_UP_ALLOWED
