"""Two-factor sign-in for staff: a practice can require it (its settings page).

A factor is an authenticator app (TOTP) or a passkey (WebAuthn); recovery codes alone are a
way back in, not a factor of their own. Clients and guardians are never asked for one.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled

from caseload.accounts.models import User
from caseload.practices.models import Membership

#: The kinds of authenticator that count as a second factor.
FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def has_second_factor(user: User) -> bool:
    return bool(is_mfa_enabled(user, list(FACTOR_TYPES)))


def second_factor_required(user: User) -> bool:
    """Does the user's practice require staff to sign in with a second factor?"""
    membership = getattr(user, "membership", None)
    if membership is None:
        # The request middleware puts the membership on the user; elsewhere, look it up.
        membership = Membership.objects.select_related("practice").filter(user_id=user.pk).first()
    return membership is not None and membership.practice.staff_two_factor_required


def held_at_set_up(user: User) -> bool:
    """Staff whose practice requires a second factor and who have none yet: they may use
    nothing but the set-up (the pages: practices.middleware; the live channel; the API)."""
    return second_factor_required(user) and not has_second_factor(user)
