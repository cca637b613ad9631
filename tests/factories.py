"""Factories for tests. Domain objects are made through the services, as the app makes them."""

from __future__ import annotations

from typing import Any

import factory
from allauth.account.models import EmailAddress

from caseload.accounts.models import User
from caseload.clients import services
from caseload.clients.models import CareRelationship
from caseload.practices.models import Membership, Practice

PASSWORD = "correct-horse-battery"


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    time_zone = "America/New_York"


def account(email: str, full_name: str = "", password: str = PASSWORD) -> User:
    """A signed-up, verified account (staff or client)."""
    user = User.objects.create_user(email, password, full_name=full_name)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def staff(
    practice: Practice,
    role: str,
    *,
    email: str,
    full_name: str = "",
    supervisor: User | None = None,
) -> User:
    user = account(email, full_name)
    Membership.objects.create(
        user=user,
        practice=practice,
        role=role,
        supervisor=supervisor.membership if supervisor is not None else None,
    )
    return user


def pending_relationship(
    therapist: User, *, full_name: str, email: str, **kwargs: Any
) -> CareRelationship:
    billing = kwargs.pop("billing_type", "cash_pay")
    return services.client_add(
        actor=therapist, full_name=full_name, email=email, billing_type=billing, **kwargs
    ).relationship


def active_relationship(therapist: User, *, full_name: str, email: str) -> CareRelationship:
    added = services.client_add(
        actor=therapist, full_name=full_name, email=email, billing_type="cash_pay"
    )
    user = User.objects.filter(email__iexact=email).first() or account(email, full_name)
    services.invitation_accept(invitation=added.invitation, actor=user)
    added.relationship.refresh_from_db()
    return added.relationship


def active_child_relationship(
    therapist: User, *, child_name: str, guardian_name: str, guardian_email: str
) -> CareRelationship:
    added = services.client_add(
        actor=therapist,
        full_name=child_name,
        billing_type="cash_pay",
        is_child=True,
        guardian_name=guardian_name,
        guardian_email=guardian_email,
        guardian_relationship="parent",
    )
    user = User.objects.filter(email__iexact=guardian_email).first() or account(
        guardian_email, guardian_name
    )
    services.invitation_accept(invitation=added.invitation, actor=user)
    added.relationship.refresh_from_db()
    return added.relationship
