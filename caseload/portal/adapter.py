"""allauth adapters: signup only through a Caseload invitation; email through the task queue;
a locked-out account still reachable with its second factor; a second factor a practice
requires can't be removed."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.forms import BaseForm
from django.http import HttpRequest
from django.shortcuts import render

from caseload.accounts.models import User, normalize_email
from caseload.accounts.tasks import deliver_email
from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.clients.models import Invitation, InvitationKind
from caseload.clients.services import InvitationNotUsable, invitation_accept
from caseload.lib.email import new_message_id
from caseload.lib.http import AuditContext
from caseload.practices.two_factor import FACTOR_TYPES, has_second_factor, second_factor_required

SESSION_INVITATION_KEY = "caseload_invitation"


def invitation_in_session(request: HttpRequest) -> Invitation | None:
    public_id = request.session.get(SESSION_INVITATION_KEY)
    if not public_id:
        return None
    invitation = (
        Invitation.objects.select_related("relationship__client__guardianship")
        .filter(public_id=public_id, kind=InvitationKind.SIGNUP)
        .first()
    )
    if invitation is None or not invitation.is_usable:
        return None
    return invitation


TOO_MANY_ATTEMPTS = "too_many_login_attempts"
LOCKED_OUT = (
    "Too many failed login attempts. Try again later, or choose “Send me a sign-in code” "
    "to sign in with a code sent to your email address."
)


# allauth ships no type hints: its adapter base class is `Any` to mypy.
class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """allauth's password check, behind its failed-sign-in limit (ACCOUNT_RATE_LIMITS).

        The limit counts per account, so anyone could lock a chosen person out by typing
        wrong passwords. While it holds, the right password still lets an account with a
        second factor through to that factor (whose own limit counts per account and per
        address, which a stranger's wrong passwords don't touch); anyone else is refused and
        offered a code by email. Every refused attempt is audited (decision 0023).
        """
        try:
            authenticated: AbstractBaseUser | None = super().authenticate(request, **credentials)
        except forms.ValidationError as error:
            if error.code != TOO_MANY_ATTEMPTS:
                raise
            user = self._past_the_limit(request, credentials)
            if user is None:
                audit_record(
                    action="auth.sign_in",
                    audit_context=AuditContext.from_request(request),
                    outcome=Outcome.DENIED,
                    actor_email=str(credentials.get("email") or "")[:254],
                    detail={"reason": "too_many_attempts"},
                )
                raise forms.ValidationError(LOCKED_OUT, code=TOO_MANY_ATTEMPTS) from error
            return user
        return authenticated

    def _past_the_limit(self, request: HttpRequest, credentials: dict[str, Any]) -> User | None:
        """The account, if it has a second factor, its password is right, and a second-factor
        attempt from this address would be allowed; else None (and this address is charged)."""
        email = normalize_email(str(credentials.get("email") or ""))
        user = User.objects.filter(email=email, is_active=True).first() if email else None
        if user is None or not has_second_factor(user):
            return None  # no password check: no way to test passwords against the limit
        # What the second-factor step will consume (allauth.mfa's check_rate_limit).
        factor_key = f"mfa-auth-user-{user.pk}"
        if not ratelimit.consume(request, action="login_failed", key=factor_key, dry_run=True):
            return None
        if user.check_password(str(credentials.get("password") or "")):
            return user
        # A wrong password counts against this address (and this address with this account),
        # never against the account's second-factor step.
        ratelimit.consume(
            request,
            action="login_failed",
            key=f"locked:{email}:{self.get_client_ip(request)}",
        )
        return None

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Nobody signs up uninvited: a usable invitation must be in the session."""
        return invitation_in_session(request) is not None

    def clean_email(self, email: str) -> str:
        invitation = invitation_in_session(self.request) if self.request else None
        if invitation is not None and normalize_email(email) != normalize_email(invitation.email):
            raise forms.ValidationError(
                f"Sign up with the address your invitation was sent to: {invitation.email}."
            )
        return normalize_email(email)

    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: BaseForm, commit: bool = True
    ) -> AbstractBaseUser:
        invitation = invitation_in_session(request)
        if invitation is None:
            raise forms.ValidationError("Your invitation is no longer valid.")
        assert isinstance(user, User)
        client = invitation.relationship.client
        # The name the inviting therapist typed, never one another practice stored.
        relationship = invitation.relationship
        user.full_name = (
            client.guardianship.full_name if client.is_child else relationship.client_name
        )
        try:
            with transaction.atomic():  # no account without its accepted invitation
                # Sign-ups on one invitation at once (a double click, several tabs) queue on
                # its row here, before any account is made: only the first finds it usable.
                if not Invitation.objects.select_for_update().filter(pk=invitation.pk).usable():
                    raise InvitationNotUsable("This invitation has already been used.")
                saved = super().save_user(request, user, form, commit=True)
                assert isinstance(saved, User)
                invitation_accept(
                    invitation=invitation,
                    actor=saved,
                    audit_context=AuditContext.from_request(request),
                )
        except (InvitationNotUsable, IntegrityError) as error:
            # Nothing was created: a clear page, never a server error.
            request.session.pop(SESSION_INVITATION_KEY, None)
            message = str(error) if isinstance(error, InvitationNotUsable) else ""
            raise ImmediateHttpResponse(
                render(request, "portal/invitation_used.html", {"message": message}, status=409)
            ) from None
        request.session.pop(SESSION_INVITATION_KEY, None)
        return saved

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render now, deliver from the durable email queue (PR-2)."""
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        deliver_email.enqueue(
            to=list(message.to),
            subject=str(message.subject),
            text=str(message.body),
            html=str(html),
            message_id=new_message_id(),
        )


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    """allauth.mfa's adapter (MFA_ADAPTER): a staff member whose practice requires two-factor
    sign-in can't remove their last authenticator app or passkey."""

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type not in FACTOR_TYPES:
            return True
        user = authenticator.user
        if not isinstance(user, User) or not second_factor_required(user):
            return True
        return bool(
            Authenticator.objects.filter(user_id=user.pk, type__in=FACTOR_TYPES)
            .exclude(pk=authenticator.pk)
            .exists()
        )
