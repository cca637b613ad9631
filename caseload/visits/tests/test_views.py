"""Sessions & Notes (SN-1 … SN-3), the agenda and the supervisor's queue, through the views."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship
from caseload.clinical import services as clinical_services
from caseload.visits import services
from caseload.visits.models import NoteAddendum, NoteEvent, ProgressNote, TherapySession
from tests.factories import active_relationship
from tests.html import field_errors, post_form_actions

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the fixture practice's time zone
UTC = ZoneInfo("UTC")
HTMX = {"HTTP_HX_REQUEST": "true"}
SOAP = {
    "format": "soap",
    "section_subjective": "Reports sleeping better since the last session.",
    "section_objective": "Calm, good eye contact.",
    "section_assessment": "Anxiety easing.",
    "section_plan": "Continue breathing exercises.",
}


def profile(relationship: CareRelationship) -> str:
    return f"/clients/{relationship.public_id}/"


def sessions_tab(relationship: CareRelationship) -> str:
    return f"{profile(relationship)}sessions/"


def new_url(relationship: CareRelationship) -> str:
    return f"{profile(relationship)}sessions/new/"


def page_url(relationship: CareRelationship, session: TherapySession, action: str = "") -> str:
    return f"{profile(relationship)}sessions/{session.public_id}/" + action


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def section_html(response: Any, element_id: str) -> str:
    html = response.content.decode()
    assert f'id="{element_id}"' in html, f"no #{element_id}"
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def schedule(relationship: CareRelationship, starts_at: datetime, **kwargs: Any) -> TherapySession:
    kwargs.setdefault("duration_minutes", 50)
    kwargs.setdefault("modality", "in_person")
    return services.session_schedule(
        relationship=relationship, actor=relationship.therapist, starts_at=starts_at, **kwargs
    )


def past_session(relationship: CareRelationship, days_ago: int = 7, **kwargs: Any) -> Any:
    return schedule(relationship, timezone.now() - timedelta(days=days_ago), **kwargs)


def draft(session: TherapySession, **sections: str) -> ProgressNote:
    content = sections or {"subjective": "Talked about work."}
    return services.note_save_draft(
        session=session, actor=session.relationship.therapist, note_format="soap", content=content
    )


def signed(session: TherapySession, therapist: Any) -> ProgressNote:
    return services.note_sign(note=draft(session), actor=therapist)


def actions(name: str) -> int:
    return AuditEvent.objects.filter(action=name).count()


def next_year(month: int, day: int) -> date:
    return date(timezone.localdate().year + 1, month, day)


# Scheduling (SN-1) --------------------------------------------------------------------------
def test_schedule_form_says_which_time_zone_it_uses(therapist, active_client, signed_in):
    response = signed_in(therapist).get(new_url(active_client))

    html = response.content.decode()
    assert response.status_code == 200
    assert "America/New_York" in html
    for name in ("date", "time", "duration_minutes", "modality"):
        assert f'name="{name}"' in html
    assert "Telehealth" in html and "In person" in html
    assert "Schedule anyway" not in html


@pytest.mark.parametrize(
    ("month", "utc_hour"),
    [(7, 18), (1, 19)],  # 14:30 in New York is 18:30 UTC in summer, 19:30 UTC in winter
)
def test_time_typed_in_practice_zone_is_stored_in_utc_and_shown_back_local(
    therapist, active_client, month, utc_hour, signed_in
):
    day = next_year(month, 15)
    browser = signed_in(therapist)

    response = browser.post(
        new_url(active_client),
        {"date": day, "time": "14:30", "duration_minutes": "50", "modality": "telehealth"},
    )

    assert response.status_code == 302
    assert response["Location"] == sessions_tab(active_client)
    session = TherapySession.objects.get()
    assert session.starts_at == datetime(day.year, month, 15, utc_hour, 30, tzinfo=UTC)
    assert (session.duration_minutes, session.modality) == (50, "telehealth")
    assert actions("session.schedule") == 1

    followed = browser.get(response["Location"])
    text = text_of(section_html(followed, "sessions"))
    assert f"{day:%a} {day.day} {day:%b %Y}, 14:30" in text
    assert f"{utc_hour}:30" not in text
    assert "Telehealth" in text
    assert "Session scheduled for" in followed.content.decode()

    detail = text_of(browser.get(page_url(active_client, session)).content.decode())
    assert f"{day.day} {day:%B %Y}, 14:30" in detail


def test_schedule_form_errors_are_shown_on_the_fields(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        new_url(active_client), {"date": "", "time": "", "duration_minutes": "2"}
    )

    assert response.status_code == 200
    assert field_errors(response, "date") == ["Choose the date."]
    assert field_errors(response, "time") == ["Choose the start time."]
    assert field_errors(response, "duration_minutes") == ["A session lasts at least 5 minutes."]
    assert not TherapySession.objects.exists()


def test_a_time_skipped_by_daylight_saving_is_refused(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        new_url(active_client),  # New York's clocks jump from 02:00 to 03:00 on 8 March 2026
        {"date": "2026-03-08", "time": "02:30", "duration_minutes": "50", "modality": "in_person"},
    )

    assert response.status_code == 200
    assert field_errors(response, "time") == [
        "The clocks go forward at this time that day. Choose another time."
    ]
    assert not TherapySession.objects.exists()


def test_overlap_is_warned_about_then_scheduled_anyway(therapist, active_client, signed_in):
    noor = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    day = next_year(3, 17)
    schedule(noor, local(day, 10, 0), duration_minutes=50)
    browser = signed_in(therapist)
    data = {"date": day, "time": "10:30", "duration_minutes": "50", "modality": "in_person"}

    response = browser.post(new_url(active_client), data)

    html = response.content.decode()
    assert response.status_code == 200
    warning = html.split('class="notice warning"')[1].split("</div>")[0]
    assert "overlaps" in warning
    assert "Noor Haddad" in warning
    assert "10:00" in warning  # the other session, in the practice's time
    assert "Schedule anyway" in html
    assert re.search(r'name="allow_overlap" value="True"', html)
    assert 'value="10:30"' in html  # what was typed is kept
    assert TherapySession.objects.filter(relationship=active_client).count() == 0

    again = browser.post(new_url(active_client), {**data, "allow_overlap": "True"})

    assert again.status_code == 302
    session = TherapySession.objects.get(relationship=active_client)
    assert session.starts_at == local(day, 10, 30)


def test_cancelled_sessions_do_not_count_as_overlaps(therapist, active_client, signed_in):
    day = next_year(3, 17)
    other = schedule(active_client, local(day, 10, 0))
    services.session_update(
        session=other, actor=other.relationship.therapist, values={"status": "cancelled"}
    )

    response = signed_in(therapist).post(
        new_url(active_client),
        {"date": day, "time": "10:00", "duration_minutes": "50", "modality": "in_person"},
    )

    assert response.status_code == 302
    assert TherapySession.objects.count() == 2


def test_archived_client_cannot_be_scheduled(therapist, active_client, signed_in):
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)

    response = signed_in(therapist).post(
        new_url(active_client),
        {
            "date": next_year(2, 3),
            "time": "09:00",
            "duration_minutes": "50",
            "modality": "in_person",
        },
    )

    assert response.status_code == 200
    assert "Restore this client before changing their record." in response.content.decode()
    assert not TherapySession.objects.exists()


# The session page ---------------------------------------------------------------------------
def test_session_page_is_audited_as_a_session_then_as_a_note(therapist, active_client, signed_in):
    session = past_session(active_client)
    browser = signed_in(therapist)

    browser.get(page_url(active_client, session))
    assert actions("session.view") == 1
    assert actions("note.view") == 0

    note = draft(session)
    browser.get(page_url(active_client, session))
    event = AuditEvent.objects.get(action="note.view")
    assert (event.actor, event.client, event.object_id) == (
        therapist,
        active_client.client,
        str(note.public_id),
    )


def test_events_record_where_the_request_came_from(therapist, active_client, signed_in):
    session = past_session(active_client)
    browser = signed_in(therapist)
    where = {"REMOTE_ADDR": "198.51.100.4", "HTTP_USER_AGENT": "Caseload test browser"}

    browser.post(page_url(active_client, session, "note/"), {**SOAP, "sign": "1"}, **where)
    browser.get(page_url(active_client, session), **where)

    for action in ("note.create", "note.sign", "note.view"):
        event = AuditEvent.objects.get(action=action)
        assert (event.actor, event.ip_address, event.user_agent) == (
            therapist,
            "198.51.100.4",
            "Caseload test browser",
        ), action


def test_outcome_records_status_and_mood(therapist, active_client, signed_in):
    session = past_session(active_client)

    response = signed_in(therapist).post(
        page_url(active_client, session, "outcome/"), {"status": "completed", "mood_score": "6"}
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.status, session.mood_score) == ("completed", 6)
    assert actions("session.update") == 1


def test_marking_a_coming_session_completed_is_a_field_error(therapist, active_client, signed_in):
    session = schedule(active_client, timezone.now() + timedelta(days=2))

    response = signed_in(therapist).post(
        page_url(active_client, session, "outcome/"), {"status": "completed", "mood_score": "5"}
    )

    assert response.status_code == 200
    assert field_errors(response, "status") == [
        "This session hasn't started yet: it can be marked Completed once it has."
    ]
    session.refresh_from_db()
    assert (session.status, session.mood_score) == ("scheduled", None)


@pytest.mark.parametrize("mood", ["0", "11", "six"])
def test_mood_outside_one_to_ten_is_refused(therapist, active_client, mood, signed_in):
    session = past_session(active_client)

    response = signed_in(therapist).post(
        page_url(active_client, session, "outcome/"), {"status": "completed", "mood_score": mood}
    )

    assert response.status_code == 200
    assert field_errors(response, "mood_score")
    session.refresh_from_db()
    assert (session.status, session.mood_score) == ("scheduled", None)


def test_new_note_offers_soap_by_default(therapist, active_client, signed_in):
    session = past_session(active_client)

    html = signed_in(therapist).get(page_url(active_client, session)).content.decode()

    for label in ("Subjective", "Objective", "Assessment", "Plan"):
        assert f">{label}</label>" in html
    assert 'name="format" value="soap"' in html
    assert "Not started" in html


@pytest.mark.parametrize(
    ("note_format", "labels", "absent"),
    [
        ("dap", ["Data", "Assessment", "Plan"], "Subjective"),
        ("birp", ["Behavior", "Intervention", "Response", "Plan"], "Subjective"),
        ("free_text", ["Note"], "Assessment"),
        ("nonsense", ["Subjective", "Objective", "Assessment", "Plan"], "Data"),
    ],
)
def test_format_is_chosen_before_the_first_save(
    therapist, active_client, note_format, labels, absent, signed_in
):
    session = past_session(active_client)

    html = (
        signed_in(therapist)
        .get(page_url(active_client, session), {"format": note_format})
        .content.decode()
    )

    found = re.findall(r'<label for="section-[a-z_]+">([^<]+)</label>', html)
    assert found == labels
    assert f">{absent}</label>" not in html


def test_format_is_fixed_once_the_draft_exists(therapist, active_client, signed_in):
    session = past_session(active_client)
    draft(session)

    html = signed_in(therapist).get(page_url(active_client, session), {"format": "dap"}).content
    html = html.decode()

    assert ">Subjective</label>" in html
    assert ">Data</label>" not in html
    assert "?format=dap" not in html


def test_draft_saved_with_a_plain_post(therapist, active_client, signed_in):
    session = past_session(active_client)
    browser = signed_in(therapist)

    response = browser.post(page_url(active_client, session, "note/"), {**SOAP, "save": ""})

    assert response.status_code == 302
    assert response["Location"] == page_url(active_client, session)
    note = ProgressNote.objects.get(session=session)
    assert (note.status, note.format) == ("draft", "soap")
    assert note.content["subjective"] == SOAP["section_subjective"]
    page = browser.get(response["Location"]).content.decode()
    assert "Draft saved." in page
    assert "Reports sleeping better since the last session.</textarea>" in page
    assert actions("note.create") == 1


def test_autosave_answers_with_a_status_line_only(therapist, active_client, signed_in):
    session = past_session(active_client)
    browser = signed_in(therapist)

    first = browser.post(
        page_url(active_client, session, "note/"),
        {"format": "dap", "section_data": "First words"},
        **HTMX,
    )
    second = browser.post(
        page_url(active_client, session, "note/"),
        {"format": "dap", "section_data": "First words, then more"},
        **HTMX,
    )

    for response in (first, second):
        html = response.content.decode()
        assert response.status_code == 200
        assert "Draft saved" in html
        assert "<html" not in html and "<textarea" not in html
        # The page's status badge and format line follow, out of band.
        assert re.search(r'<span id="note-status"[^>]*hx-swap-oob="true">Draft</span>', html)
        assert re.search(r'<p id="note-formats"[^>]*hx-swap-oob="true">Format: DAP</p>', html)
    note = ProgressNote.objects.get(session=session)
    assert note.format == "dap"
    assert note.content == {"data": "First words, then more", "assessment": "", "plan": ""}
    assert (actions("note.create"), actions("note.save_draft")) == (1, 1)


def test_sign_locks_the_note_and_shows_who_signed(therapist, active_client, signed_in):
    session = past_session(active_client)
    browser = signed_in(therapist)

    response = browser.post(page_url(active_client, session, "note/"), {**SOAP, "sign": "1"})

    assert response.status_code == 302
    note = ProgressNote.objects.get(session=session)
    assert (note.status, note.signed_by) == ("signed", therapist)
    assert note.content["plan"] == "Continue breathing exercises."
    assert note.verify()
    page = browser.get(page_url(active_client, session))
    html = page.content.decode()
    signed_at = timezone.localtime(note.signed_at, NEW_YORK)
    assert f"Signed by Alice Rivera on {signed_at:%-d %b %Y, %H:%M}" in text_of(html)
    assert '<textarea name="section_' not in html
    assert "Continue breathing exercises." in html
    assert page_url(active_client, session, "note/") not in post_form_actions(page)
    assert page_url(active_client, session, "note/addenda/") in post_form_actions(page)
    assert actions("note.sign") == 1


def test_sign_refused_on_the_note_form_keeps_the_stored_draft(therapist, active_client, signed_in):
    session = past_session(active_client)
    draft(session, subjective="Talked about work.")

    response = signed_in(therapist).post(
        page_url(active_client, session, "note/"),
        {"format": "soap", "section_subjective": "  ", "sign": "1"},
    )

    assert response.status_code == 200
    assert "Write the note before signing it." in response.content.decode()
    note = ProgressNote.objects.get(session=session)
    assert (note.status, note.content["subjective"]) == ("draft", "Talked about work.")
    assert actions("note.sign") == 0


def test_autosave_never_signs(therapist, active_client, signed_in):
    session = past_session(active_client)

    response = signed_in(therapist).post(
        page_url(active_client, session, "note/"), {**SOAP, "sign": "1"}, **HTMX
    )

    assert response.status_code == 200
    assert "Draft saved" in response.content.decode()
    assert ProgressNote.objects.get(session=session).status == "draft"


def test_sign_from_its_own_url(therapist, active_client, signed_in):
    session = past_session(active_client)
    draft(session)

    response = signed_in(therapist).post(page_url(active_client, session, "note/sign/"))

    assert response.status_code == 302
    assert ProgressNote.objects.get(session=session).status == "signed"


@pytest.mark.parametrize("with_draft", [False, True])
def test_an_empty_note_cannot_be_signed(therapist, active_client, with_draft, signed_in):
    session = past_session(active_client)
    if with_draft:
        services.note_save_draft(
            session=session, actor=session.relationship.therapist, note_format="soap", content={}
        )

    response = signed_in(therapist).post(page_url(active_client, session, "note/sign/"))

    assert response.status_code == 200
    assert "Write the note before signing it." in response.content.decode()
    assert not ProgressNote.objects.filter(session=session, status="signed").exists()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_signed_note_cannot_be_edited(therapist, active_client, headers, signed_in):
    session = past_session(active_client)
    note = signed(session, therapist)
    before = (note.format, note.content, note.content_sha256, note.updated_at)

    response = signed_in(therapist).post(
        page_url(active_client, session, "note/"),
        {"format": "soap", "section_subjective": "Rewritten after signing"},
        **headers,
    )

    assert "This note is signed and locked. Add an addendum instead." in response.content.decode()
    if headers:  # the autosave line says so, and nothing claims the note is a draft again
        assert response.status_code == 409
        assert "hx-swap-oob" not in response.content.decode()
    note.refresh_from_db()
    assert (note.format, note.content, note.content_sha256, note.updated_at) == before
    assert note.status == "signed"


def test_addendum_is_shown_dated_under_the_signed_note(therapist, active_client, signed_in):
    session = past_session(active_client)
    signed(session, therapist)
    browser = signed_in(therapist)

    response = browser.post(
        page_url(active_client, session, "note/addenda/"),
        {"text": "Client called afterwards: the dose changed."},
    )

    assert response.status_code == 302
    addendum = NoteAddendum.objects.get()
    assert addendum.author == therapist
    html = browser.get(page_url(active_client, session)).content.decode()
    below = html.split("Signed by Alice Rivera")[1]
    when = timezone.localtime(addendum.created_at, NEW_YORK)
    assert "Client called afterwards: the dose changed." in below
    assert f"{when:%-d %b %Y, %H:%M} — Alice Rivera" in text_of(below)
    assert actions("note.addendum") == 1


def test_empty_addendum_is_refused_on_the_field(therapist, active_client, signed_in):
    session = past_session(active_client)
    signed(session, therapist)

    response = signed_in(therapist).post(
        page_url(active_client, session, "note/addenda/"), {"text": ""}
    )

    assert field_errors(response, "text") == ["Write the addendum."]
    assert not NoteAddendum.objects.exists()


def test_a_draft_takes_no_addenda(therapist, active_client, signed_in):
    session = past_session(active_client)
    draft(session)

    response = signed_in(therapist).post(
        page_url(active_client, session, "note/addenda/"), {"text": "Too early"}
    )

    assert "addenda are for signed notes" in response.content.decode()
    assert not NoteAddendum.objects.exists()


# Supervision --------------------------------------------------------------------------------
def test_supervisor_reviews_a_signed_note_read_only(
    supervisor, active_client, therapist, signed_in
):
    session = past_session(active_client)
    signed(session, therapist)

    response = signed_in(supervisor).get(page_url(active_client, session))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Talked about work." in html
    assert '<textarea name="section_' not in html
    assert ">Co-sign</button>" in html and ">Send back</button>" in html
    assert sorted(post_form_actions(response)) == sorted(
        [
            page_url(active_client, session, "note/cosign/"),
            page_url(active_client, session, "note/send-back/"),
        ]
    )


def test_therapist_is_not_offered_co_signing(therapist, active_client, signed_in):
    session = past_session(active_client)
    signed(session, therapist)

    html = signed_in(therapist).get(page_url(active_client, session)).content.decode()

    assert "Co-sign</button>" not in html and "Send back</button>" not in html


def test_supervisor_sees_a_draft_without_review_buttons(supervisor, active_client, signed_in):
    session = past_session(active_client)
    draft(session)

    response = signed_in(supervisor).get(page_url(active_client, session))

    assert "Talked about work." in response.content.decode()
    assert "Draft — not signed yet." in response.content.decode()
    assert post_form_actions(response) == []


def test_supervisor_co_signs(supervisor, therapist, active_client, signed_in):
    session = past_session(active_client)
    signed(session, therapist)
    browser = signed_in(supervisor)

    response = browser.post(page_url(active_client, session, "note/cosign/"))

    assert response.status_code == 302
    note = ProgressNote.objects.get(session=session)
    assert (note.status, note.cosigned_by) == ("cosigned", supervisor)
    page = browser.get(page_url(active_client, session))
    assert "Co-signed by Helen Brooks on" in text_of(page.content.decode())
    assert post_form_actions(page) == []
    assert actions("note.cosign") == 1


def test_send_back_needs_a_comment(supervisor, therapist, active_client, signed_in):
    session = past_session(active_client)
    signed(session, therapist)

    response = signed_in(supervisor).post(
        page_url(active_client, session, "note/send-back/"), {"comment": "  "}
    )

    assert response.status_code == 200
    assert field_errors(response, "comment") == ["Say what should change."]
    assert ProgressNote.objects.get(session=session).status == "signed"
    assert not NoteEvent.objects.filter(kind="sent_back").exists()


def test_sent_back_note_shows_the_comment_and_is_editable_again(
    supervisor, therapist, active_client, signed_in
):
    session = past_session(active_client)
    signed(session, therapist)

    response = signed_in(supervisor).post(
        page_url(active_client, session, "note/send-back/"),
        {"comment": "Add the risk assessment, please."},
    )

    assert response.status_code == 302
    note = ProgressNote.objects.get(session=session)
    assert (note.status, note.signed_by, note.signed_at) == ("draft", None, None)
    browser = signed_in(therapist)
    page = browser.get(page_url(active_client, session))
    html = page.content.decode()
    assert "Sent back by Helen Brooks" in html
    assert "Add the risk assessment, please." in html
    assert '<textarea name="section_subjective"' in html
    assert page_url(active_client, session, "note/") in post_form_actions(page)

    browser.post(
        page_url(active_client, session, "note/"),
        {"format": "soap", "section_subjective": "Talked about work. Risk: low."},
    )
    note.refresh_from_db()
    assert note.content["subjective"] == "Talked about work. Risk: low."
    assert actions("note.send_back") == 1


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_supervisor_cannot_write_anything_on_the_session(
    supervisor, therapist, active_client, headers, signed_in
):
    session = past_session(active_client)
    note = draft(session)
    browser = signed_in(supervisor)

    for action, data in [
        ("note/", {"format": "soap", "section_subjective": "Supervisor's words"}),
        ("note/sign/", {}),
        ("note/addenda/", {"text": "Supervisor's addendum"}),
        ("outcome/", {"status": "completed", "mood_score": "2"}),
    ]:
        response = browser.post(page_url(active_client, session, action), data, **headers)
        assert response.status_code == 404, action
    assert browser.get(new_url(active_client)).status_code == 404

    note.refresh_from_db()
    session.refresh_from_db()
    assert note.content["subjective"] == "Talked about work."
    assert note.status == "draft"
    assert (session.status, session.mood_score) == ("scheduled", None)
    assert not NoteAddendum.objects.exists()


def test_therapist_cannot_co_sign_or_send_back_their_own_note(therapist, active_client, signed_in):
    session = past_session(active_client)
    signed(session, therapist)
    browser = signed_in(therapist)

    assert browser.post(page_url(active_client, session, "note/cosign/")).status_code == 404
    assert (
        browser.post(
            page_url(active_client, session, "note/send-back/"), {"comment": "x"}
        ).status_code
        == 404
    )
    assert ProgressNote.objects.get(session=session).status == "signed"


SESSION_ACTIONS = [
    ("GET", "", {}),
    ("POST", "outcome/", {"status": "completed", "mood_score": "3"}),
    ("POST", "note/", {"format": "soap", "section_subjective": "Intruder"}),
    ("POST", "note/sign/", {}),
    ("POST", "note/addenda/", {"text": "Intruder"}),
    ("POST", "note/cosign/", {}),
    ("POST", "note/send-back/", {"comment": "Intruder"}),
]


def _session_state(session: TherapySession) -> Any:
    fresh = TherapySession.objects.get(pk=session.pk)
    note = ProgressNote.objects.filter(session=session).values().first()
    return (
        fresh.status,
        fresh.mood_score,
        note,
        NoteAddendum.objects.count(),
        NoteEvent.objects.count(),
    )


@pytest.mark.parametrize(
    "persona", ["colleague", "outsider", "practice_admin", "client_user", "guardian_user"]
)
def test_everyone_else_gets_404_on_every_session_url(
    request, therapist, active_client, persona, signed_in
):
    session = past_session(active_client)
    signed(session, therapist)
    browser = signed_in(request.getfixturevalue(persona))
    before = _session_state(session)

    assert browser.get(new_url(active_client)).status_code == 404
    for method, action, data in SESSION_ACTIONS:
        url = page_url(active_client, session, action)
        response = browser.get(url) if method == "GET" else browser.post(url, data)
        assert response.status_code == 404, url

    assert _session_state(session) == before


@pytest.mark.parametrize("persona", ["therapist", "supervisor"])
def test_another_clients_session_under_this_clients_url_is_404(
    request, therapist, active_client, persona, signed_in
):
    noor = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    theirs = past_session(noor)
    signed(theirs, therapist)
    browser = signed_in(request.getfixturevalue(persona))
    before = _session_state(theirs)

    for method, action, data in SESSION_ACTIONS:
        url = page_url(active_client, theirs, action)  # Maya's URL, Noor's session
        response = browser.get(url) if method == "GET" else browser.post(url, data)
        assert response.status_code == 404, url

    assert _session_state(theirs) == before
    assert actions("note.view") == 0


# The profile's Sessions & Notes section (SN-3) ------------------------------------------------
def test_profile_lists_upcoming_and_past_sessions_with_note_status_and_mood(
    therapist, active_client, signed_in
):
    upcoming = schedule(active_client, local(next_year(4, 2), 9, 15), modality="telehealth")
    done = past_session(active_client, days_ago=14)
    services.session_update(
        session=done,
        actor=done.relationship.therapist,
        values={"status": "completed", "mood_score": 7},
    )
    signed(done, therapist)
    missed = past_session(active_client, days_ago=7)

    response = signed_in(therapist).get(sessions_tab(active_client))

    section = section_html(response, "sessions")
    upcoming_part, history = section.split("History", 1)
    assert page_url(active_client, upcoming) in upcoming_part
    assert "09:15" in text_of(upcoming_part) and "Telehealth" in text_of(upcoming_part)
    rows = {
        session: text_of(history.split(page_url(active_client, session))[1].split("</tr>")[0])
        for session in (done, missed)
    }
    assert "Completed" in rows[done] and "Signed" in rows[done] and "7" in rows[done]
    assert "Scheduled" in rows[missed] and "Not started" in rows[missed]
    assert history.index(page_url(active_client, missed)) < history.index(
        page_url(active_client, done)
    )  # most recent first
    assert new_url(active_client) in section


def test_supervisor_sees_sessions_without_the_schedule_button(supervisor, active_client, signed_in):
    session = past_session(active_client)

    section = section_html(signed_in(supervisor).get(sessions_tab(active_client)), "sessions")

    assert page_url(active_client, session) in section
    assert new_url(active_client) not in section


def chart_summary(section: str) -> str:
    """The chart's text alternative (the paragraph the SVG is labelled by)."""
    paragraph = section.split('id="mood-chart-summary"', 1)[1].split(">", 1)[1]
    return text_of(paragraph.split("</p>", 1)[0])


def test_mood_chart_draws_one_point_per_score_with_a_text_summary(
    therapist, active_client, signed_in
):
    moods = [(21, 3), (14, 5), (7, 8)]
    for days_ago, mood in moods:
        session = past_session(active_client, days_ago=days_ago)
        services.session_update(
            session=session,
            actor=session.relationship.therapist,
            values={"status": "completed", "mood_score": mood},
        )
    past_session(active_client, days_ago=3)  # no mood: no point

    section = section_html(signed_in(therapist).get(sessions_tab(active_client)), "sessions")

    svg = section.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in section.split("<svg", 1)[1].split(">", 1)[0]
    assert svg.count("<circle") == 3
    assert re.findall(r'data-mood="(\d+)"', svg) == ["3", "5", "8"]
    first = timezone.localdate(timezone=NEW_YORK) - timedelta(days=21)  # the practice's day
    summary = chart_summary(section)
    assert summary.startswith(f"Mood over 3 sessions from {first:%d %b %Y}")
    assert "first 3, latest 8, lowest 3, highest 8." in summary


def test_mood_chart_dates_are_the_practice_days(therapist, active_client, signed_in):
    # 22:30 in New York is already tomorrow in UTC.
    day = timezone.localdate(timezone=NEW_YORK) - timedelta(days=10)
    session = schedule(active_client, local(day, 22, 30))
    services.session_update(
        session=session,
        actor=session.relationship.therapist,
        values={"status": "completed", "mood_score": 4},
    )

    section = section_html(signed_in(therapist).get(sessions_tab(active_client)), "sessions")

    summary = chart_summary(section)
    assert f"from {day:%d %b %Y} to {day:%d %b %Y}" in summary
    assert f"<title>{day:%d %b %Y}: 4</title>" in section


def test_no_chart_without_mood_scores(therapist, active_client, signed_in):
    past_session(active_client)

    section = section_html(signed_in(therapist).get(sessions_tab(active_client)), "sessions")

    assert "<svg" not in section


def test_whats_next_ticks_schedule_the_first_session(therapist, active_client, signed_in):
    browser = signed_in(therapist)

    def item() -> str:
        html = browser.get(profile(active_client)).content.decode()
        whats_next = html.split('id="whats-next-title"', 1)[1].split("</section>", 1)[0]
        items = [li for li in whats_next.split("<li")[1:] if new_url(active_client) in li]
        assert len(items) == 1
        return items[0].split("</li>", 1)[0]

    before = item()
    assert "Schedule the first session" in before
    assert 'class="done"' not in before and "(done)" not in before

    schedule(active_client, local(next_year(5, 5), 11, 0))

    after = item()
    assert 'class="done"' in after and "(done)" in after


def _list_entry(browser: Browser, relationship: CareRelationship) -> str:
    html = browser.get("/clients/").content.decode()
    return text_of(html.split(f'href="{profile(relationship)}"', 1)[1].split("</li>", 1)[0])


def test_client_list_badges_notes_due_and_to_co_sign(
    therapist, supervisor, active_client, signed_in
):
    therapist_view, supervisor_view = signed_in(therapist), signed_in(supervisor)
    schedule(active_client, local(next_year(5, 5), 11, 0))  # future: nothing due yet
    assert "due" not in _list_entry(therapist_view, active_client)

    session = past_session(active_client)
    assert "1 note due" in _list_entry(therapist_view, active_client)
    assert "due" not in _list_entry(supervisor_view, active_client)

    signed(session, therapist)
    assert "due" not in _list_entry(therapist_view, active_client)
    assert "1 to co-sign" in _list_entry(supervisor_view, active_client)
    assert "co-sign" not in _list_entry(therapist_view, active_client)

    services.note_cosign(note=ProgressNote.objects.get(), actor=supervisor)
    assert "co-sign" not in _list_entry(supervisor_view, active_client)


def test_cancelled_past_session_needs_no_note(therapist, active_client, signed_in):
    session = past_session(active_client)
    services.session_update(
        session=session, actor=session.relationship.therapist, values={"status": "cancelled"}
    )

    assert "due" not in _list_entry(signed_in(therapist), active_client)


def _make_sessions(relationship: CareRelationship, therapist: Any, start: int, count: int) -> None:
    codes = ["F41.1", "F33.1", "F43.10", "F40.10", "F42.2", "F50.00", "F90.0", "F31.81"]
    for index in range(start, start + count):
        session = past_session(relationship, days_ago=index + 1)
        services.session_update(
            session=session,
            actor=session.relationship.therapist,
            values={"status": "completed", "mood_score": index % 10 + 1},
        )
        if index % 3 == 0:
            signed(session, therapist)
        elif index % 3 == 1:
            draft(session)
        if index < len(codes):
            clinical_services.diagnosis_add(
                relationship=relationship, actor=relationship.therapist, code=codes[index]
            )
        clinical_services.medication_save(
            relationship=relationship, actor=relationship.therapist, values={"name": f"M{index}"}
        )
    schedule(relationship, local(next_year(6, 1), 8, 0) + timedelta(days=start + count))


def _profile_queries(browser: Browser, relationship: CareRelationship) -> int:
    browser.get(profile(relationship))  # warm up: session activity is stored on first use
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(profile(relationship))
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("persona", ["therapist", "supervisor"])
def test_profile_query_count_is_constant_in_sessions_and_diagnoses(
    request, therapist, active_client, persona, signed_in
):
    browser = signed_in(request.getfixturevalue(persona))
    _make_sessions(active_client, therapist, 0, 2)
    with_two = _profile_queries(browser, active_client)

    _make_sessions(active_client, therapist, 2, 10)
    assert TherapySession.objects.count() == 14
    assert active_client.diagnoses.count() == 8
    with_twelve = _profile_queries(browser, active_client)

    assert with_two == with_twelve


# The agenda ---------------------------------------------------------------------------------
@pytest.fixture
def agenda_week(therapist, colleague, active_client) -> dict[str, TherapySession]:
    """Sessions in the week of Monday 9 March 2026 (New York is on daylight time from the 8th)."""
    noor = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    bobs = active_relationship(colleague, full_name="Omar Farouk", email="omar@example.com")
    return {
        "maya_tuesday_late": schedule(active_client, local(date(2026, 3, 10), 23, 0)),
        "noor_tuesday": schedule(noor, local(date(2026, 3, 10), 9, 30)),
        "noor_friday": schedule(noor, local(date(2026, 3, 13), 16, 0)),
        "maya_next_monday": schedule(active_client, local(date(2026, 3, 16), 9, 0)),
        "bobs": schedule(bobs, local(date(2026, 3, 10), 12, 0)),
    }


def test_agenda_day_lists_the_therapists_sessions_across_clients_in_local_time(
    therapist, agenda_week, signed_in
):
    response = signed_in(therapist).get("/sessions/", {"view": "day", "date": "2026-03-10"})

    text = text_of(response.content.decode().split("<main", 1)[1])
    assert response.status_code == 200
    assert "Tuesday 10 March" in text
    assert text.index("09:30 Noor Haddad") < text.index("23:00 Maya Patel")
    assert "Omar Farouk" not in text  # a colleague's client
    assert "16:00" not in text  # Friday's session
    assert "03:00" not in text  # 23:00 local is 03:00 UTC on the 11th


def test_agenda_week_starts_on_monday_and_lists_seven_days(therapist, agenda_week, signed_in):
    response = signed_in(therapist).get("/sessions/", {"view": "week", "date": "2026-03-11"})

    html = response.content.decode()
    text = text_of(html.split("<main", 1)[1])
    assert html.count('class="agenda-day"') == 7
    assert text.index("Monday 9 March") < text.index("Tuesday 10 March")
    assert text.index("Tuesday 10 March") < text.index("23:00 Maya Patel")
    assert text.index("23:00 Maya Patel") < text.index("Wednesday 11 March")
    assert text.index("Friday 13 March") < text.index("16:00 Noor Haddad")
    assert "Sunday 15 March" in text
    assert "Monday 16 March" not in text
    assert "Omar Farouk" not in text
    links = [unescape(href) for href in re.findall(r'href="(\?[^"]*)"', html)]
    assert "?view=week&date=2026-03-16" in links  # Next
    assert "?view=week&date=2026-03-02" in links  # Previous
    assert "?view=day&date=2026-03-11" in links  # Day: the day asked for, not the Monday


def test_agenda_links_open_the_session(therapist, active_client, agenda_week, signed_in):
    html = signed_in(therapist).get("/sessions/", {"view": "day", "date": "2026-03-10"}).content

    assert page_url(active_client, agenda_week["maya_tuesday_late"]) in html.decode()


def test_agenda_defaults_to_this_week(therapist, active_client, signed_in):
    today = timezone.localdate(timezone=NEW_YORK)
    schedule(active_client, local(today, 12, 0))

    response = signed_in(therapist).get("/sessions/")

    assert response.status_code == 200
    assert "12:00 Maya Patel" in text_of(response.content.decode())


@pytest.mark.parametrize(
    "query",
    [
        {"view": "month"},
        {"view": "day", "date": "2026-02-30"},
        {"view": "day", "date": "yesterday"},
        {"view": "week", "date": "9999-12-31"},
        {"view": "day", "date": "0001-01-01"},
    ],
)
def test_agenda_refuses_unknown_views_and_bad_dates(therapist, query, signed_in):
    assert signed_in(therapist).get("/sessions/", query).status_code == 400


@pytest.mark.parametrize("persona", ["practice_admin", "client_user"])
def test_agenda_is_for_clinicians_only(request, persona, signed_in):
    assert signed_in(request.getfixturevalue(persona)).get("/sessions/").status_code == 404


# The supervisor's queue ---------------------------------------------------------------------
def test_supervision_lists_signed_notes_awaiting_co_signature(
    supervisor, therapist, colleague, active_client, signed_in
):
    waiting = past_session(active_client, days_ago=10)
    signed(waiting, therapist)
    draft(past_session(active_client, days_ago=5))
    cosigned = past_session(active_client, days_ago=3)
    services.note_cosign(note=signed(cosigned, therapist), actor=supervisor)
    bobs = active_relationship(colleague, full_name="Omar Farouk", email="omar@example.com")
    signed(past_session(bobs), colleague)  # bob has no supervisor

    response = signed_in(supervisor).get("/supervision/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(f'href="{profile(active_client)}sessions/') == 1
    assert page_url(active_client, waiting) in html
    assert "Alice Rivera" in html
    assert "Omar Farouk" not in html


def test_supervision_is_empty_for_another_supervisor(practice, therapist, active_client, signed_in):
    from tests.factories import staff

    signed(past_session(active_client), therapist)
    other = staff(practice, "supervisor", email="other-sup@example.com")

    html = signed_in(other).get("/supervision/").content.decode()

    assert "Nothing to review." in html
    assert "Maya Patel" not in html


@pytest.mark.parametrize("persona", ["therapist", "practice_admin", "client_user"])
def test_supervision_is_only_for_supervisors(request, persona, signed_in):
    assert signed_in(request.getfixturevalue(persona)).get("/supervision/").status_code == 404


def test_a_refused_form_that_shows_the_note_again_is_audited_as_a_read(
    client, therapist, active_client
):
    from datetime import timedelta

    from django.utils import timezone

    from caseload.audit.models import AuditEvent
    from caseload.visits import services as visit_services

    session = visit_services.session_schedule(
        relationship=active_client,
        actor=active_client.therapist,
        starts_at=timezone.now() - timedelta(days=2),
        duration_minutes=50,
        modality="in_person",
    )
    visit_services.note_save_draft(
        session=session,
        actor=session.relationship.therapist,
        note_format="soap",
        content={"plan": "x"},
    )
    client.force_login(therapist)
    before = AuditEvent.objects.filter(action="note.view").count()

    response = client.post(
        f"/clients/{active_client.public_id}/sessions/{session.public_id}/outcome/",
        {"status": "bogus"},
    )

    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="note.view").count() == before + 1


def test_the_agenda_and_the_supervision_queue_are_audited(client, therapist, supervisor):
    from caseload.audit.models import AuditEvent

    client.force_login(therapist)
    client.get("/sessions/")
    client.force_login(supervisor)
    client.get("/supervision/")

    assert AuditEvent.objects.filter(action="agenda.view", actor=therapist).count() == 1
    assert AuditEvent.objects.filter(action="supervision.view", actor=supervisor).count() == 1


def test_setting_a_cancelled_session_back_warns_when_its_time_was_taken(
    therapist, active_client, signed_in
):
    """A cancelled session's time may have gone to someone else: setting it back to scheduled
    is checked for overlaps like a move, and goes through only when the therapist insists."""
    session = past_session(active_client)
    services.session_update(session=session, actor=therapist, values={"status": "cancelled"})
    services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=session.starts_at,
        duration_minutes=50,
        modality="in_person",
    )
    browser = signed_in(therapist)

    refused = browser.post(page_url(active_client, session, "outcome/"), {"status": "scheduled"})

    assert refused.status_code == 200
    assert "overlaps 1 other session" in " ".join(field_errors(refused, "status"))
    session.refresh_from_db()
    assert session.status == "cancelled"

    insisted = browser.post(
        page_url(active_client, session, "outcome/"),
        {"status": "scheduled", "allow_overlap": "on"},
    )

    assert insisted.status_code == 302
    session.refresh_from_db()
    assert session.status == "scheduled"
