"""The clinician's home page (issue 10 item 8): what needs them today, each item a link.

Lists: immediate attention (flagged PHQ-9 item 9), today's sessions, notes due, documents to
review, unread messages, plans to review, and for a supervisor the notes to co-sign. Scope,
bounds, the query count and the other roles' redirects.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship, CareState
from caseload.documents.library import sync_library
from caseload.documents.models import (
    AssignedDocument,
    DocumentStatus,
    FlagFollowUp,
    TemplateVersion,
)
from caseload.messaging.models import Message, Side
from caseload.plans.models import TreatmentPlan
from caseload.visits.models import (
    Modality,
    NoteStatus,
    ProgressNote,
    SessionStatus,
    TherapySession,
)
from caseload.workspace.home import LIMIT, readable_relationships
from tests.factories import (
    CareRelationshipFactory,
    account,
    active_relationship,
    pending_relationship,
)
from tests.html import text_by_id

pytestmark = pytest.mark.django_db

LISTS = (
    "home-attention",
    "home-cosign",
    "home-today",
    "home-notes",
    "home-documents",
    "home-messages",
    "home-plans",
)


# Helpers ----------------------------------------------------------------------------------
def zone_of(relationship: CareRelationship) -> ZoneInfo:
    return ZoneInfo(relationship.practice.time_zone)


def local_today(relationship: CareRelationship) -> date:
    return timezone.localdate(timezone=zone_of(relationship))


def at_local(relationship: CareRelationship, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone_of(relationship))


def session(
    relationship: CareRelationship,
    starts_at: datetime,
    *,
    status: str = SessionStatus.SCHEDULED,
    modality: str = Modality.IN_PERSON,
    note: str | None = None,
) -> TherapySession:
    made = TherapySession.objects.create(
        relationship=relationship, starts_at=starts_at, status=status, modality=modality
    )
    if note is not None:
        signed = note != NoteStatus.DRAFT
        ProgressNote.objects.create(
            session=made,
            status=note,
            content={"subjective": "x"},
            signed_by=relationship.therapist if signed else None,
            signed_at=timezone.now() if signed else None,
            cosigned_at=timezone.now() if note == NoteStatus.COSIGNED else None,
        )
    return made


def phq9() -> TemplateVersion:
    return next(version for version in sync_library() if version.scoring == "phq9")


def gad7() -> TemplateVersion:
    return next(version for version in sync_library() if version.scoring == "gad7")


def document(
    relationship: CareRelationship,
    *,
    version: TemplateVersion | None = None,
    status: str = DocumentStatus.COMPLETED,
    flagged: bool = False,
    submitted_at: datetime | None = None,
) -> AssignedDocument:
    submitted = status in (DocumentStatus.COMPLETED, DocumentStatus.SIGNED, DocumentStatus.REVIEWED)
    return AssignedDocument.objects.create(
        relationship=relationship,
        version=version or gad7(),
        status=status,
        assigned_by=relationship.therapist,
        submitted_at=(submitted_at or timezone.now()) if submitted else None,
        reviewed_at=timezone.now() if status == DocumentStatus.REVIEWED else None,
        flagged=flagged,
    )


def message(
    relationship: CareRelationship, *, side: str = Side.CLIENT, read: bool = False
) -> Message:
    sender = (
        relationship.client.account
        or getattr(getattr(relationship.client, "guardianship", None), "account", None)
        or relationship.therapist
    )
    return Message.objects.create(
        relationship=relationship,
        sender=relationship.therapist if side == Side.THERAPIST else sender,
        sender_side=side,
        text="Hello",
        read_at=timezone.now() if read else None,
        read_by=relationship.therapist if read else None,
    )


def plan(relationship: CareRelationship, *, review_in_days: int, age_days: int = 80) -> Any:
    today = local_today(relationship)
    return TreatmentPlan.objects.create(
        relationship=relationship,
        effective_date=today - timedelta(days=age_days),
        review_date=today + timedelta(days=review_in_days),
        created_by=relationship.therapist,
    )


def home(browser: Any) -> Any:
    response = browser.get("/")
    assert response.status_code == 200
    return response


def lines(response: Any, list_id: str) -> list[str]:
    return text_by_id(response, list_id) or []


def hrefs(response: Any, list_id: str) -> list[str]:
    """The links inside one list's section, in order."""
    html = response.content.decode()
    match = re.search(rf'<section id="{list_id}".*?</section>', html, flags=re.S)
    assert match, f"no {list_id} on the page"
    return re.findall(r'href="([^"]+)"', match.group(0))


def tab(relationship: CareRelationship, key: str) -> str:
    return reverse(f"workspace:{key}", args=[relationship.public_id])


def session_url(made: TherapySession) -> str:
    return reverse("visits:session", args=[made.relationship.public_id, made.public_id])


def shows_nothing_of(response: Any, *names: str) -> None:
    html = response.content.decode()
    for name in names:
        assert name not in html


# Redirects for the other roles ------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")


def test_practice_admin_is_sent_to_practice_settings(practice_admin: Any, signed_in: Any) -> None:
    response = signed_in(practice_admin).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("practices:settings")


def test_clients_and_guardians_are_sent_to_the_portal(
    client_user: Any, guardian_user: Any, signed_in: Any
) -> None:
    for user in (client_user, guardian_user):
        response = signed_in(user).get("/")
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:home")


def test_signing_in_lands_a_therapist_on_the_home_page(therapist: Any, client: Any) -> None:
    response = client.post(
        reverse("account_login"),
        {"login": therapist.email, "password": "correct-horse-battery"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/"
    assert response.templates[0].name == "workspace/home.html"


def test_only_get(therapist: Any, signed_in: Any) -> None:
    assert signed_in(therapist).post("/").status_code == 405


# Empty ------------------------------------------------------------------------------------
def test_when_nothing_is_due_the_page_says_so_in_one_line(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    response = home(signed_in(therapist))

    assert lines(response, "home-empty") == [
        "You're all caught up: nothing needs you today. Open My Clients"
    ]
    for list_id in LISTS:
        assert text_by_id(response, list_id) is None


def test_each_empty_list_says_so_in_a_sentence(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    message(active_client)  # one list has something: the others say they are empty

    response = home(signed_in(therapist))

    assert text_by_id(response, "home-empty") is None
    assert lines(response, "home-attention")[-1] == "Nothing needs immediate attention."
    assert lines(response, "home-today")[-1] == "No sessions today."
    assert lines(response, "home-notes")[-1] == "Nothing due: every past session has a signed note."
    assert lines(response, "home-documents")[-1] == "No documents waiting for your review."
    assert lines(response, "home-plans")[-1] == "No plans expire in the next 14 days."
    assert text_by_id(response, "home-cosign") is None  # not a supervisor


# Each list --------------------------------------------------------------------------------
def test_todays_sessions_in_practice_time_with_modality_and_note_status(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    today = local_today(active_client)
    late = session(active_client, at_local(active_client, today, 23, 30), modality="telehealth")
    early = session(active_client, at_local(active_client, today, 0, 15), note=NoteStatus.DRAFT)
    session(active_client, at_local(active_client, today - timedelta(days=1), 23, 45))
    session(active_client, at_local(active_client, today + timedelta(days=1), 0, 5))

    response = home(signed_in(therapist))

    assert lines(response, "home-today")[1:] == [
        "2 sessions today. Open the day in My sessions",
        "00:15 Maya Patel · In person · note draft",
        "23:30 Maya Patel · Telehealth · no note yet",
    ]
    assert hrefs(response, "home-today") == [
        reverse("agenda") + "?view=day",
        session_url(early),
        session_url(late),
    ]
    html = response.content.decode()
    local = timezone.localtime(late.starts_at, zone_of(active_client))
    assert f'<time datetime="{local.isoformat()}">23:30</time>' in html


def test_a_cancelled_session_today_says_so(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    today = local_today(active_client)
    session(active_client, at_local(active_client, today, 23, 50), status=SessionStatus.CANCELLED)

    response = home(signed_in(therapist))

    assert (
        lines(response, "home-today")[-1]
        == "23:50 Maya Patel · In person · Cancelled · no note yet"
    )


def test_notes_due_oldest_first_bounded_with_a_count_and_a_link_to_the_agenda(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    now = timezone.now()
    due = [session(active_client, now - timedelta(days=30 - n)) for n in range(LIMIT + 2)]
    session(active_client, now - timedelta(days=40), note=NoteStatus.SIGNED)
    session(active_client, now - timedelta(days=41), note=NoteStatus.COSIGNED)
    session(active_client, now - timedelta(days=42), status=SessionStatus.CANCELLED)
    session(active_client, now - timedelta(days=43), status=SessionStatus.NO_SHOW)
    session(active_client, now + timedelta(days=2))  # not yet held
    session(due[0].relationship, now - timedelta(days=50), note=NoteStatus.DRAFT)  # the oldest

    response = home(signed_in(therapist))

    shown = lines(response, "home-notes")
    assert shown[1] == f"{LIMIT + 3} past sessions without a signed note. Open My sessions"
    assert len(shown) == 3 + LIMIT
    assert shown[-1] == f"Showing the oldest {LIMIT} of {LIMIT + 3}."
    assert shown[2].startswith("Maya Patel, ") and shown[2].endswith("· note draft")
    assert shown[3].endswith("· no note yet")
    links = hrefs(response, "home-notes")
    assert links[0] == reverse("agenda")
    assert links[2:] == [session_url(made) for made in due[: LIMIT - 1]]


def test_documents_to_review_completed_or_signed_not_reviewed(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    now = timezone.now()
    document(active_client, submitted_at=now - timedelta(days=1))
    document(active_client, status=DocumentStatus.SIGNED, submitted_at=now - timedelta(days=3))
    document(active_client, status=DocumentStatus.REVIEWED)
    document(active_client, status=DocumentStatus.ASSIGNED)
    document(active_client, status=DocumentStatus.IN_PROGRESS)

    response = home(signed_in(therapist))

    shown = lines(response, "home-documents")
    assert shown[1] == "2 documents to review."
    assert [line.split(" · ")[1].split(" ")[0] for line in shown[2:]] == ["signed", "completed"]
    assert all(line.startswith("Maya Patel: ") for line in shown[2:])
    assert hrefs(response, "home-documents") == [tab(active_client, "documents")] * 2


def test_unread_messages_per_client_with_the_count(
    therapist: Any, active_client: Any, child_client: Any, signed_in: Any
) -> None:
    for _ in range(3):
        message(active_client)
    message(active_client, read=True)
    message(active_client, side=Side.THERAPIST)  # alice's own
    message(child_client)

    response = home(signed_in(therapist))

    shown = lines(response, "home-messages")
    assert shown[1] == "Unread messages from 2 clients."
    assert {line.split(" · latest ")[0] for line in shown[2:]} == {
        "Maya Patel · 3 unread messages",
        "Ava Okafor · 1 unread message",
    }
    assert set(hrefs(response, "home-messages")) == {
        tab(active_client, "messaging"),
        tab(child_client, "messaging"),
    }


def test_plans_expired_or_expiring_within_14_days_by_the_latest_plan(
    therapist: Any, active_client: Any, child_client: Any, signed_in: Any
) -> None:
    plan(active_client, review_in_days=-3)
    plan(child_client, review_in_days=10)
    third = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    plan(third, review_in_days=-30, age_days=200)  # superseded by
    plan(third, review_in_days=60, age_days=10)  # the current plan

    response = home(signed_in(therapist))

    shown = lines(response, "home-plans")
    assert shown[1] == "2 plans expired or expiring within 14 days."
    assert shown[2].startswith("Maya Patel: Treatment plan · Expired review was due ")
    assert shown[3].startswith("Ava Okafor: Treatment plan · Expiring review by ")
    assert hrefs(response, "home-plans") == [
        tab(active_client, "plans"),
        tab(child_client, "plans"),
    ]


def test_a_new_flagged_answer_is_listed_before_older_reviewed_ones_never_followed_up(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    now = timezone.now()
    for days in range(LIMIT + 1):  # reviewed before a follow-up was required
        document(
            active_client,
            version=phq9(),
            flagged=True,
            status=DocumentStatus.REVIEWED,
            submitted_at=now - timedelta(days=30 + days),
        )
    tonight = document(active_client, version=phq9(), flagged=True)

    response = home(signed_in(therapist))

    shown = lines(response, "home-attention")
    assert shown[1].startswith(f"{LIMIT + 2} flagged answers not yet followed up")
    links = hrefs(response, "home-attention")
    assert links[0] == reverse(
        "documents:document", args=[active_client.public_id, tonight.public_id]
    )
    assert len(links) == LIMIT
    assert (
        shown[-1] == f"Showing {LIMIT} of {LIMIT + 2}: those not yet reviewed first, oldest first."
    )


def test_flagged_answers_come_first_with_an_alert(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    session(active_client, timezone.now() - timedelta(days=1))  # something else to show
    flagged = document(active_client, version=phq9(), flagged=True)
    handled = document(active_client, version=phq9(), flagged=True, status=DocumentStatus.REVIEWED)
    FlagFollowUp.objects.create(
        document=handled, followed_up_by=therapist, followed_up_at=timezone.now(), note="Called."
    )
    document(active_client, version=phq9())  # not flagged

    response = home(signed_in(therapist))

    shown = lines(response, "home-attention")
    assert shown[1].startswith("1 flagged answer not yet followed up: PHQ-9 item 9")
    assert len(shown) == 3
    assert shown[2].startswith("Flagged Maya Patel: ")
    assert hrefs(response, "home-attention") == [
        reverse("documents:document", args=[active_client.public_id, flagged.public_id])
    ]
    html = response.content.decode()
    assert html.index('id="home-attention"') < html.index('id="home-today"')
    assert 'role="alert"' in html


def test_headings_and_time_elements(therapist: Any, active_client: Any, signed_in: Any) -> None:
    message(active_client)
    today = local_today(active_client)
    session(active_client, at_local(active_client, today, 23, 55))

    response = home(signed_in(therapist))

    html = response.content.decode()
    assert "<h1>Home</h1>" in html
    for title in (
        "Needs immediate attention",
        "Today's sessions",
        "Notes due",
        "Documents to review",
        "Unread messages",
        "Treatment plans to review",
    ):
        assert re.search(rf"<h2 id=\"[^\"]+\">{re.escape(title)}</h2>", html.replace("&#x27;", "'"))
    assert f'<time datetime="{today.isoformat()}">' in html


# Scope ------------------------------------------------------------------------------------
def _alices_busy_day(relationship: CareRelationship) -> None:
    now = timezone.now()
    session(relationship, at_local(relationship, local_today(relationship), 23, 59))
    session(relationship, now - timedelta(days=3))
    document(relationship)
    document(relationship, version=phq9(), flagged=True)
    message(relationship)
    plan(relationship, review_in_days=-1)


def test_colleague_outsider_and_admin_see_nothing_of_alices(
    therapist: Any,
    colleague: Any,
    outsider: Any,
    active_client: Any,
    signed_in: Any,
) -> None:
    _alices_busy_day(active_client)

    for user in (colleague, outsider):
        response = home(signed_in(user))
        shows_nothing_of(response, "Maya Patel", str(active_client.public_id))
        assert text_by_id(response, "home-empty") is not None


def test_an_outsider_in_another_practice_sees_only_their_own(
    outsider: Any, active_client: Any, signed_in: Any
) -> None:
    _alices_busy_day(active_client)
    own = CareRelationshipFactory(therapist=outsider)
    message(own)

    response = home(signed_in(outsider))

    assert lines(response, "home-messages")[1] == "Unread messages from 1 client."
    shows_nothing_of(response, "Maya Patel")


def test_a_client_awaiting_approval_never_appears(
    therapist: Any, colleague: Any, active_client: Any, signed_in: Any
) -> None:
    # Bob asked Maya (who has an account) to connect: nothing of it shows until she accepts.
    bobs = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    assert bobs.state == CareState.AWAITING_CONSENT
    _alices_busy_day(bobs)

    response = home(signed_in(colleague))

    assert text_by_id(response, "home-empty") is not None
    shows_nothing_of(response, str(bobs.public_id))
    assert not readable_relationships(colleague).exists()


def test_an_archived_client_waiting_to_accept_a_restore_never_appears(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    _alices_busy_day(active_client)
    client_services.relationship_archive(relationship=active_client, actor=therapist)
    client_services.relationship_restore(relationship=active_client, actor=therapist)
    active_client.refresh_from_db()
    assert active_client.state == CareState.ARCHIVED  # until Maya accepts

    response = home(signed_in(therapist))

    assert text_by_id(response, "home-empty") is not None
    shows_nothing_of(response, "Maya Patel")


def test_an_archived_client_keeps_what_can_still_be_read_and_reviewed(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    _alices_busy_day(active_client)
    client_services.relationship_archive(relationship=active_client, actor=therapist)

    response = home(signed_in(therapist))

    # Still to read or review: the flag, the documents, the messages.
    assert lines(response, "home-attention")[1].startswith("1 flagged answer")
    assert lines(response, "home-documents")[1] == "2 documents to review."
    assert lines(response, "home-messages")[1] == "Unread messages from 1 client."
    # The record is closed: no sessions, notes or plans to write.
    assert lines(response, "home-today")[-1] == "No sessions today."
    assert lines(response, "home-notes")[-1].startswith("Nothing due")
    assert lines(response, "home-plans")[-1].startswith("No plans expire")


def test_an_ended_relationship_never_appears(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    _alices_busy_day(active_client)
    CareRelationship.objects.filter(pk=active_client.pk).update(state=CareState.ENDED)

    response = home(signed_in(therapist))

    assert text_by_id(response, "home-empty") is not None
    shows_nothing_of(response, "Maya Patel")


# The supervisor ---------------------------------------------------------------------------
def test_supervisor_sees_notes_to_cosign_and_supervisees_flags_read_only(
    therapist: Any, supervisor: Any, active_client: Any, signed_in: Any
) -> None:
    _alices_busy_day(active_client)
    signed = session(active_client, timezone.now() - timedelta(days=8), note=NoteStatus.SIGNED)
    session(active_client, timezone.now() - timedelta(days=9), note=NoteStatus.COSIGNED)

    response = home(signed_in(supervisor))

    cosign = lines(response, "home-cosign")
    assert cosign[1] == "1 note to co-sign. Open Notes to co-sign"
    assert cosign[2].startswith("Maya Patel, session of ")
    assert "· Alice Rivera · signed " in cosign[2]
    assert hrefs(response, "home-cosign") == [reverse("supervision"), session_url(signed)]
    attention = lines(response, "home-attention")
    assert attention[2].endswith("· Alice Rivera's client")
    # A supervisor without clients of their own: no caseload lists, never alice's messages.
    for list_id in ("home-today", "home-notes", "home-documents", "home-messages", "home-plans"):
        assert text_by_id(response, list_id) is None
    assert tab(active_client, "messaging") not in response.content.decode()


def test_supervisor_with_clients_sees_their_own_caseload_only(
    therapist: Any, supervisor: Any, active_client: Any, signed_in: Any
) -> None:
    _alices_busy_day(active_client)
    own = active_relationship(supervisor, full_name="Lee Chen", email="lee@example.com")
    message(own)
    document(own)

    response = home(signed_in(supervisor))

    assert lines(response, "home-messages")[1:] == [
        line for line in lines(response, "home-messages")[1:] if "Maya" not in line
    ]
    assert lines(response, "home-messages")[1] == "Unread messages from 1 client."
    assert hrefs(response, "home-messages") == [tab(own, "messaging")]
    assert hrefs(response, "home-documents") == [tab(own, "documents")]
    assert lines(response, "home-notes")[-1].startswith("Nothing due")  # alice's aren't his
    assert lines(response, "home-cosign")[-1] == "No notes waiting for your co-signature."


def test_a_therapist_does_not_see_a_cosign_list(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    session(active_client, timezone.now() - timedelta(days=8), note=NoteStatus.SIGNED)
    message(active_client)

    assert text_by_id(home(signed_in(therapist)), "home-cosign") is None


# Audit ------------------------------------------------------------------------------------
def test_the_view_is_audited_in_numbers_only(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    message(active_client)

    home(signed_in(therapist))

    event = AuditEvent.objects.filter(action="home.view").get()
    assert event.actor == therapist
    assert event.client_id is None
    assert event.detail == {
        "attention": 0,
        "sessions_today": 0,
        "notes_due": 0,
        "documents": 0,
        "messages": 1,
        "plans": 0,
        "bookings": 0,
    }


# Query count ------------------------------------------------------------------------------
def _fill(relationships: list[CareRelationship], reader: Any) -> None:
    """Give every client something in every list."""
    today = timezone.localdate(timezone=ZoneInfo(relationships[0].practice.time_zone))
    for relationship in relationships:
        session(relationship, at_local(relationship, today, 23, 59), note=NoteStatus.DRAFT)
        session(relationship, timezone.now() - timedelta(days=2), note=NoteStatus.SIGNED)
        session(relationship, timezone.now() - timedelta(days=3))
        document(relationship)
        document(relationship, version=phq9(), flagged=True)
        Message.objects.create(
            relationship=relationship, sender=reader, sender_side=Side.CLIENT, text="Hi"
        )
        plan(relationship, review_in_days=5)


def _queries(browser: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        home(browser)
    return len(captured)


@pytest.mark.parametrize("viewer", ["therapist", "supervisor"])
def test_the_page_costs_the_same_for_3_and_60_clients(
    viewer: str, therapist: Any, supervisor: Any, signed_in: Any
) -> None:
    reader = account("reader@example.com")
    user = {"therapist": therapist, "supervisor": supervisor}[viewer]
    first = CareRelationshipFactory.create_batch(3, therapist=therapist)
    if viewer == "supervisor":
        first += CareRelationshipFactory.create_batch(3, therapist=supervisor)
    _fill(first, reader)
    browser = signed_in(user)
    home(browser)  # warm the session
    few = _queries(browser)

    more = CareRelationshipFactory.create_batch(57, therapist=therapist)
    if viewer == "supervisor":
        more += CareRelationshipFactory.create_batch(57, therapist=supervisor)
    _fill(more, reader)
    response = home(browser)
    many = _queries(browser)

    assert many == few
    for list_id in ("home-attention", "home-notes", "home-documents", "home-messages"):
        found = lines(response, list_id)
        assert len(found) == 3 + LIMIT, list_id  # title, count, rows, "Showing … of …"
        assert found[-1].startswith("Showing "), list_id
