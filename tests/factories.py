"""Factories for tests.

The personas and the relationships that carry invitations are made through the services, as
the app makes them (`account`, `staff`, `active_relationship` …). The factory_boy factories
below make plain rows fast, for tests that need many of them (query counts with a long
history, list paging) and don't exercise the writing rules themselves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState, Client
from caseload.messaging.models import Message, Side
from caseload.practices.models import Membership, Practice
from caseload.visits.models import SessionStatus, TherapySession

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


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Person {n}")


class ClientFactory(factory.django.DjangoModelFactory):
    """A client who hasn't signed up (no account)."""

    class Meta:
        model = Client

    full_name = factory.Sequence(lambda n: f"Client {n:04d}")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    search_text = factory.LazyAttribute(lambda o: f"{o.full_name} {o.email}".lower())


class CareRelationshipFactory(factory.django.DjangoModelFactory):
    """An active relationship of `therapist` (required) with a new client."""

    class Meta:
        model = CareRelationship

    client = factory.SubFactory(ClientFactory)
    client_name = factory.LazyAttribute(lambda o: o.client.full_name)
    search_text = factory.LazyAttribute(lambda o: f"{o.client_name} {o.client.email}".lower())
    practice = factory.LazyAttribute(lambda o: o.therapist.membership.practice)
    state = CareState.ACTIVE
    billing_type = "cash_pay"


class TherapySessionFactory(factory.django.DjangoModelFactory):
    """A past session, completed, one week apart per sequence number."""

    class Meta:
        model = TherapySession

    starts_at = factory.Sequence(lambda n: timezone.now() - timedelta(days=7 * (n + 1)))
    duration_minutes = 50
    status = SessionStatus.COMPLETED


class MessageFactory(factory.django.DjangoModelFactory):
    """A message from the client's side of `relationship` (required), unread."""

    class Meta:
        model = Message

    sender = factory.LazyAttribute(lambda o: o.relationship.client.account)
    sender_side = Side.CLIENT
    text = factory.Sequence(lambda n: f"Message {n}")
