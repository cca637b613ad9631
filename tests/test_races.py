"""Uniqueness under concurrent requests is enforced by the database (SECURITY R1, I6).

Two threads, each with its own database connection, run the same service at once. A first
barrier starts them together; a second one, in a pre_save receiver, holds each thread right
after its reads until the other has read too, so both really decide on the same snapshot.
SQLite serialises writers with a database lock, so these run on PostgreSQL only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client as Browser

from caseload.accounts.models import User
from caseload.audit.models import AuditEvent
from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState, Client, Invitation
from tests.factories import PASSWORD, account

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

GATE_TIMEOUT = 10


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite locks the whole database instead")


class Gate:
    """Hold each thread at its first save of `models` until all threads (`parties`, two by
    default) got there.

    If the code under test serialises the threads (a lock before the save), the second thread
    never arrives while the first waits: the gate then gives up after `timeout` and lets the
    first one go on.
    """

    def __init__(self, *models: type, timeout: float = GATE_TIMEOUT, parties: int = 2) -> None:
        self.models = models
        self.timeout = timeout
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self.passed: set[int] = set()
        self.met = False

    def __call__(self, sender: type, **kwargs: Any) -> None:
        me = threading.get_ident()
        if sender not in self.models or me in self.passed:
            return
        self.passed.add(me)
        try:
            self.barrier.wait()
            self.met = True
        except threading.BrokenBarrierError:
            pass

    def __enter__(self) -> Gate:
        pre_save.connect(self, dispatch_uid="race-gate", weak=False)
        return self

    def __exit__(self, *exc: object) -> None:
        pre_save.disconnect(dispatch_uid="race-gate")


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads started at once; return each one's result or exception."""
    start = threading.Barrier(len(calls), timeout=GATE_TIMEOUT)
    outcomes: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            start.wait()
            outcomes[index] = call()
        except BaseException as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a thread hung"
    return outcomes


def add(therapist: Any, email: str) -> Callable[[], services.AddedClient]:
    return lambda: services.client_add(
        actor=therapist, full_name="Nora Quinn", email=email, billing_type="cash_pay"
    )


def split(outcomes: list[Any]) -> tuple[list[Any], list[BaseException]]:
    ok = [o for o in outcomes if not isinstance(o, BaseException)]
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    return ok, failed


def test_same_therapist_adding_a_new_email_twice_at_once_makes_one_client(therapist):
    with Gate(Client, CareRelationship) as gate:
        outcomes = run_together(
            add(therapist, "nora@example.com"), add(therapist, "Nora@Example.com")
        )

    assert gate.met, "both threads should have read before either wrote"
    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert [type(error) for error in failed] == [services.DuplicateClientError], outcomes
    assert failed[0].relationship.pk == ok[0].relationship.pk
    assert Client.objects.filter(email="nora@example.com").count() == 1
    assert (
        CareRelationship.objects.exclude(state=CareState.ENDED).filter(therapist=therapist).count()
        == 1
    )
    assert Invitation.objects.count() == 1
    assert AuditEvent.objects.filter(action="client.add").count() == 1


def test_same_therapist_adding_a_known_client_twice_at_once_makes_one_relationship(
    therapist, colleague
):
    add(colleague, "nora@example.com")()  # the client already exists through bob

    with Gate(Client, CareRelationship) as gate:
        outcomes = run_together(
            add(therapist, "nora@example.com"), add(therapist, "nora@example.com")
        )

    assert gate.met
    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert [type(error) for error in failed] == [services.DuplicateClientError], outcomes
    assert (
        CareRelationship.objects.exclude(state=CareState.ENDED).filter(therapist=therapist).count()
        == 1
    )
    assert CareRelationship.objects.filter(therapist=colleague).count() == 1


def test_two_therapists_adding_the_same_new_email_at_once_share_one_client(therapist, colleague):
    with Gate(Client, CareRelationship) as gate:
        outcomes = run_together(
            add(therapist, "nora@example.com"), add(colleague, "nora@example.com")
        )

    assert gate.met
    ok, failed = split(outcomes)
    assert failed == [], outcomes
    assert len(ok) == 2
    [client] = Client.objects.filter(email="nora@example.com")
    assert {added.relationship.client_id for added in ok} == {client.pk}
    assert {added.relationship.therapist_id for added in ok} == {therapist.pk, colleague.pk}


def test_two_simultaneous_accepts_accept_once(therapist):
    added = add(therapist, "nora@example.com")()
    user = account("nora@example.com", "Nora Quinn")

    def accept() -> CareRelationship:
        return services.invitation_accept(invitation=added.invitation, actor=user)

    # Short gate: with the row lock in place the second thread can't reach the save.
    with Gate(Invitation, timeout=2) as gate:
        outcomes = run_together(accept, accept)

    assert not gate.met, "the invitation row lock should keep the second accept out"
    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert [type(error) for error in failed] == [services.InvitationNotUsable], outcomes
    invitation = Invitation.objects.get(pk=added.invitation.pk)
    assert invitation.accepted_by == user
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1
    assert CareRelationship.objects.get(pk=added.relationship.pk).state == CareState.ACTIVE


def test_accept_and_decline_at_once_leave_one_consistent_answer(therapist):
    holder = account("omar@example.com")
    added = add(therapist, "omar@example.com")()

    outcomes = run_together(
        lambda: services.invitation_accept(invitation=added.invitation, actor=holder),
        lambda: services.invitation_decline(invitation=added.invitation, actor=holder),
    )

    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert [type(error) for error in failed] == [services.InvitationNotUsable], outcomes
    invitation = Invitation.objects.get(pk=added.invitation.pk)
    relationship = CareRelationship.objects.get(pk=added.relationship.pk)
    if invitation.accepted_at is not None:
        assert (invitation.declined_at, relationship.state) == (None, CareState.ACTIVE)
    else:
        assert invitation.declined_at is not None
        assert relationship.state == CareState.ENDED


# Through the real views ---------------------------------------------------------------------
SIGNUPS = 15


def test_parallel_signups_on_one_invitation_make_one_account_and_clear_pages(therapist, settings):
    """Fifteen sign-ups on one invitation at once (tabs, double clicks): one account, and every
    other attempt gets a page that says so and how to go on, never a server error."""
    # allauth's rate limit serialises on a cache lock it waits 1 s for, then answers 429: on
    # a busy test machine that, not the invitation, would decide some of these requests.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": None}
    cache.clear()
    added = add(therapist, "nora@example.com")()
    token = added.invitation.token()
    browsers = [Browser(raise_request_exception=False) for _ in range(SIGNUPS)]
    for browser in browsers:  # each opened the link and chose "Create your account"
        assert browser.post(f"/invite/{token}/signup/").status_code == 302

    def sign_up(browser: Browser) -> Callable[[], Any]:
        return lambda: browser.post(
            "/accounts/signup/",
            {"email": "nora@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )

    # Every thread that gets as far as making the account waits for all the others there;
    # with the invitation locked first only one ever does, and the gate gives up.
    with Gate(User, timeout=3, parties=SIGNUPS):
        responses = run_together(*(sign_up(browser) for browser in browsers))

    errors = [r for r in responses if isinstance(r, BaseException)]
    assert errors == []
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(302) == 1, statuses
    refused = [r for r in responses if r.status_code != 302]
    assert all(r.status_code == 409 for r in refused), [
        (r.status_code, r.get("Location")) for r in refused
    ]
    for response in refused:
        html = response.content.decode()
        assert "This invitation has already been used" in html
        assert 'href="/accounts/login/"' in html
    assert User.objects.filter(email="nora@example.com").count() == 1
    invitation = Invitation.objects.get(pk=added.invitation.pk)
    assert invitation.accepted_by == User.objects.get(email="nora@example.com")
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1


def test_the_same_add_client_form_sent_twice_at_once_makes_one_client(therapist):
    """A double submit (or a resend after a dropped answer racing the first): both browsers
    land on the one client the form created, neither sees an error."""
    browsers = [Browser(raise_request_exception=False) for _ in range(2)]
    for browser in browsers:
        browser.force_login(therapist)
    data = {
        "full_name": "Nora Quinn",
        "email": "nora@example.com",
        "billing_type": "cash_pay",
        "submission_key": str(uuid.uuid4()),
    }

    with Gate(Client, CareRelationship) as gate:
        responses = run_together(*(lambda b=b: b.post("/clients/add/", data) for b in browsers))

    assert gate.met, "both requests should have read before either wrote"
    [relationship] = CareRelationship.objects.filter(therapist=therapist)
    assert sorted(r.status_code for r in responses) == [302, 302], responses
    assert {r["Location"].split("?")[0] for r in responses} == {
        f"/clients/{relationship.public_id}/"
    }
    assert Invitation.objects.count() == 1
    assert AuditEvent.objects.filter(action="client.add").count() == 1


def test_the_same_questionnaire_scheduled_twice_at_once_is_scheduled_once(active_client):
    from caseload.documents import schedules
    from caseload.documents.library import sync_library
    from caseload.documents.models import QuestionnaireSchedule
    from caseload.documents.services import DocumentError

    template = next(v.template for v in sync_library() if v.template.library_key == "phq9")

    def schedule() -> Any:
        return schedules.questionnaire_schedule_create(
            relationship=active_client,
            template=template,
            cadence="weeks",
            every_weeks=2,
            actor=active_client.therapist,
        )

    with Gate(QuestionnaireSchedule):
        outcomes = run_together(schedule, schedule)

    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert [type(error) for error in failed] == [DocumentError], outcomes
    assert "already scheduled" in str(failed[0])
    assert QuestionnaireSchedule.objects.count() == 1
