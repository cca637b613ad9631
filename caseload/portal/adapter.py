"""allauth adapter: signup only through a Caseload invitation; email through the task queue."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.forms import BaseForm
from django.http import HttpRequest
from django.shortcuts import render

from caseload.accounts.models import User, normalize_email
from caseload.accounts.tasks import deliver_email
from caseload.clients.models import Invitation, InvitationKind
from caseload.clients.services import InvitationNotUsable, invitation_accept
from caseload.lib.http import AuditContext

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


# allauth ships no type hints: its adapter base class is `Any` to mypy.
class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
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
        )
