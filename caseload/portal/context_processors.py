"""The practice a person's account pages speak for (sign-up, sign-in, email, second factor)."""

from __future__ import annotations

from django.http import HttpRequest

from caseload.accounts.models import User
from caseload.clients.access import in_care_of
from caseload.clients.models import CareRelationship, CareState
from caseload.portal.adapter import invitation_in_session


def account_practice(request: HttpRequest) -> dict[str, str]:
    """Only for allauth's pages: the invitation's practice while signing up, the staff
    member's practice, or a client's single practice once signed in."""
    match = getattr(request, "resolver_match", None)
    if match is None or not (match.url_name or "").startswith(("account_", "mfa_")):
        return {}
    user = getattr(request, "user", None)
    name = ""
    if isinstance(user, User):
        membership = getattr(user, "membership", None)
        if membership is not None:
            name = membership.practice.name
        else:
            names = set(
                CareRelationship.objects.filter(
                    in_care_of(user), state=CareState.ACTIVE
                ).values_list("practice__name", flat=True)[:2]
            )
            name = names.pop() if len(names) == 1 else ""
    elif hasattr(request, "session"):
        invitation = invitation_in_session(request)
        if invitation is not None:
            name = invitation.relationship.practice.name
    return {"account_practice_name": name}
