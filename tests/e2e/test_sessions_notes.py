"""SN-1 … SN-3 and supervision in the browser: schedule, write and sign a note, co-sign, chart."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import BrowserContext, Locator, Page, expect

from caseload.visits import services
from caseload.visits.models import NoteAddendum, ProgressNote, TherapySession
from tests.e2e.conftest import BrowserProblems, sign_in
from tests.factories import active_relationship

NEW_YORK = ZoneInfo("America/New_York")  # the fixture practice's time zone


def sessions_region(page: Page) -> Locator:
    return page.get_by_role("region", name="Sessions & Notes")


def schedule_in_form(page: Page, day: datetime, time: str, modality: str = "In person") -> None:
    expect(page.get_by_role("heading", name="Schedule a session")).to_be_visible()
    page.get_by_label("Date").fill(day.strftime("%Y-%m-%d"))
    page.get_by_label("Start time").fill(time)
    page.get_by_label("Duration (minutes)").fill("50")
    page.get_by_label("Modality").select_option(label=modality)
    page.get_by_role("button", name="Schedule", exact=True).click()


def past_session(relationship: Any, days_ago: int, mood: int | None = None) -> TherapySession:
    session = services.session_schedule(
        relationship=relationship,
        starts_at=datetime.now(NEW_YORK).replace(hour=10, minute=0, second=0, microsecond=0)
        - timedelta(days=days_ago),
        duration_minutes=50,
        modality="in_person",
        actor=relationship.therapist,
    )
    if mood is not None:
        services.session_update(
            session=session,
            values={"status": "completed", "mood_score": mood},
            actor=session.relationship.therapist,
        )
    return session


def test_therapist_schedules_records_the_outcome_writes_signs_and_amends_a_soap_note(
    page: Page, therapist: Any, active_client: Any
) -> None:
    yesterday = datetime.now(NEW_YORK) - timedelta(days=1)
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/sessions/")
    sessions_region(page).get_by_role("link", name="Schedule a session").click()
    expect(page.get_by_text("America/New_York")).to_be_visible()
    schedule_in_form(page, yesterday, "10:00")

    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/sessions/$"))
    expect(page.get_by_role("status").first).to_contain_text("Session scheduled for")
    history = sessions_region(page).get_by_role("table")
    label = f"{yesterday:%a} {yesterday.day} {yesterday:%b %Y}, 10:00"
    row = history.get_by_role("row", name=re.compile(re.escape(label)))
    expect(row).to_contain_text("Not started")
    session = TherapySession.objects.get()
    assert session.starts_at == yesterday.replace(hour=10, minute=0, second=0, microsecond=0)

    row.get_by_role("link", name=label).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("10:00")
    page.get_by_label("Status").select_option(label="Completed")
    page.get_by_label("Mood (1 to 10)").fill("6")
    page.get_by_role("button", name="Update session").click()
    expect(page.get_by_text("Completed · Mood 6/10")).to_be_visible()

    note = page.get_by_role("region", name=re.compile("Progress note"))
    expect(note.get_by_role("link", name="SOAP")).to_have_attribute("aria-current", "true")
    note.get_by_label("Subjective").fill("Slept better; one panic attack at work.")
    status = note.get_by_role("status")
    expect(status).to_contain_text("Draft saved")
    assert ProgressNote.objects.get().content["subjective"].startswith("Slept better")
    note.get_by_label("Objective").fill("Calm, engaged.")
    note.get_by_label("Assessment").fill("Anxiety easing.")
    note.get_by_label("Plan", exact=True).fill("Continue breathing practice; review in two weeks.")
    expect(status).to_contain_text("Draft saved")
    expect(note.get_by_role("heading", name=re.compile("Progress note"))).to_contain_text("Draft")
    page.wait_for_load_state("networkidle")  # the last autosave has landed

    note.get_by_role("button", name="Sign note").click()
    note = page.get_by_role("region", name=re.compile("Progress note"))
    expect(note.get_by_role("heading", name=re.compile("Progress note"))).to_contain_text("Signed")
    expect(note).to_contain_text("Signed by Alice Rivera on")
    expect(note.get_by_label("Subjective")).to_have_count(0)  # locked: no fields
    expect(note).to_contain_text("Continue breathing practice; review in two weeks.")
    stored = ProgressNote.objects.get()
    assert (stored.status, stored.signed_by) == ("signed", therapist)
    assert stored.content["plan"] == "Continue breathing practice; review in two weeks."

    note.get_by_label("Addendum").fill("Client emailed: the panic attack was on Tuesday.")
    note.get_by_role("button", name="Add addendum").click()
    note = page.get_by_role("region", name=re.compile("Progress note"))
    addendum = note.locator(".addendum")
    expect(addendum).to_contain_text("Client emailed: the panic attack was on Tuesday.")
    expect(addendum).to_contain_text(re.compile(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} — Alice Rivera"))
    assert NoteAddendum.objects.get().note == stored

    page.get_by_role("link", name=re.compile("Maya Patel")).first.click()
    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/sessions/$"))
    row = sessions_region(page).get_by_role("row", name=re.compile(re.escape(label)))
    expect(row).to_contain_text("Signed")
    expect(row).to_contain_text("6")


def test_scheduling_from_whats_next_ticks_the_item(
    page: Page, therapist: Any, active_client: Any
) -> None:
    next_week = datetime.now(NEW_YORK) + timedelta(days=7)
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/")
    whats_next = page.get_by_role("region", name="What's next")
    item = whats_next.get_by_role("listitem").filter(has_text="Schedule the first session")
    expect(item).not_to_contain_text("done")

    item.get_by_role("link", name="Schedule the first session").click()
    schedule_in_form(page, next_week, "16:30", modality="Telehealth")

    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/sessions/$"))
    upcoming = sessions_region(page).get_by_role("list")
    expect(upcoming).to_contain_text(
        f"{next_week:%a} {next_week.day} {next_week:%b %Y}, 16:30 · 50 min · Telehealth"
    )

    page.goto(f"/clients/{active_client.public_id}/")  # What's next is on the Overview
    item = (
        page.get_by_role("region", name="What's next")
        .get_by_role("listitem")
        .filter(has_text="Schedule the first session")
    )
    expect(item).to_contain_text("(done)")


def test_overlapping_time_is_warned_about_and_can_be_scheduled_anyway(
    page: Page, therapist: Any, active_client: Any
) -> None:
    noor = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    tomorrow = datetime.now(NEW_YORK) + timedelta(days=1)
    services.session_schedule(
        relationship=noor,
        starts_at=tomorrow.replace(hour=9, minute=0, second=0, microsecond=0),
        duration_minutes=50,
        modality="in_person",
        actor=noor.therapist,
    )
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/sessions/new/")
    schedule_in_form(page, tomorrow, "09:30")

    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("This time overlaps other sessions")
    expect(warning).to_contain_text("Noor Haddad")
    expect(warning).to_contain_text("09:00")
    assert TherapySession.objects.filter(relationship=active_client).count() == 0

    page.get_by_role("button", name="Schedule anyway").click()
    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/sessions/$"))
    assert TherapySession.objects.filter(relationship=active_client).count() == 1


def test_format_is_chosen_before_the_first_save_then_fixed(
    page: Page, therapist: Any, active_client: Any
) -> None:
    session = past_session(active_client, days_ago=1)
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/sessions/{session.public_id}/")
    note = page.get_by_role("region", name=re.compile("Progress note"))
    expect(note.get_by_label("Subjective")).to_be_visible()

    note.get_by_role("navigation", name="Note format").get_by_role("link", name="DAP").click()
    note = page.get_by_role("region", name=re.compile("Progress note"))
    expect(note.get_by_role("link", name="DAP")).to_have_attribute("aria-current", "true")
    expect(note.get_by_label("Subjective")).to_have_count(0)
    for label in ("Data", "Assessment", "Plan"):
        expect(note.get_by_label(label, exact=True)).to_be_visible()
    note.get_by_label("Data", exact=True).fill("Talked through the week.")
    expect(note.get_by_role("status")).to_contain_text("Draft saved")
    expect(note.get_by_role("navigation", name="Note format")).to_have_count(0)
    expect(note).to_contain_text("Format: DAP")
    expect(note.locator("#note-status")).to_have_text("Draft")
    stored = ProgressNote.objects.get()
    assert (stored.format, stored.content["data"]) == ("dap", "Talked through the week.")


def test_agenda_lists_the_days_sessions_across_clients(
    page: Page, therapist: Any, active_client: Any
) -> None:
    noor = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    tomorrow = (datetime.now(NEW_YORK) + timedelta(days=1)).replace(second=0, microsecond=0)
    for relationship, hour in ((noor, 15), (active_client, 9)):
        services.session_schedule(
            relationship=relationship,
            starts_at=tomorrow.replace(hour=hour, minute=0),
            duration_minutes=50,
            modality="telehealth",
            actor=relationship.therapist,
        )
    sign_in(page, therapist.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My sessions").click()
    page.get_by_role("link", name="Day", exact=True).click()
    page.get_by_role("link", name="Next →").click()

    day = page.get_by_role("main")
    expect(day.get_by_role("heading", level=2)).to_have_text(
        f"{tomorrow:%A} {tomorrow.day} {tomorrow:%B}"
    )
    entries = day.get_by_role("listitem")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("09:00 Maya Patel")
    expect(entries.nth(1)).to_contain_text("15:00 Noor Haddad")
    entries.nth(1).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("15:00")


def test_supervisor_finds_the_note_to_co_sign_and_co_signs_it(
    page: Page, therapist: Any, supervisor: Any, active_client: Any
) -> None:
    session = past_session(active_client, days_ago=2, mood=5)
    note = services.note_save_draft(
        session=session,
        note_format="dap",
        content={"data": "Discussed the week.", "assessment": "Stable.", "plan": "Same time."},
        actor=session.relationship.therapist,
    )
    services.note_sign(note=note, actor=therapist)
    sign_in(page, supervisor.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notes to co-sign").click()
    expect(page.get_by_role("heading", name="Notes awaiting your co-signature")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Maya Patel"))
    expect(row).to_contain_text("Alice Rivera")
    row.get_by_role("link", name="Maya Patel").click()

    review = page.get_by_role("region", name=re.compile("Progress note"))
    expect(review).to_contain_text("Discussed the week.")
    expect(review.get_by_role("textbox", name="Data")).to_have_count(0)  # read-only for them
    review.get_by_role("button", name="Co-sign").click()

    review = page.get_by_role("region", name=re.compile("Progress note"))
    expect(review.get_by_role("heading", name=re.compile("Progress note"))).to_contain_text(
        "Co-signed"
    )
    expect(review).to_contain_text("Co-signed by Helen Brooks on")
    expect(review.get_by_role("button", name="Co-sign")).to_have_count(0)
    note.refresh_from_db()
    assert (note.status, note.cosigned_by) == ("cosigned", supervisor)

    page.get_by_role("link", name="Notes to co-sign").click()
    expect(page.get_by_text("Nothing to review.")).to_be_visible()


def test_supervisor_sends_a_note_back_and_the_therapist_sees_why(
    page: Page,
    new_context: Callable[..., BrowserContext],
    therapist: Any,
    supervisor: Any,
    active_client: Any,
) -> None:
    session = past_session(active_client, days_ago=2)
    note = services.note_save_draft(
        session=session,
        note_format="soap",
        content={"subjective": "Short note."},
        actor=session.relationship.therapist,
    )
    services.note_sign(note=note, actor=therapist)
    url = f"/clients/{active_client.public_id}/sessions/{session.public_id}/"
    sign_in(page, supervisor.email)
    page.goto(url)

    review = page.get_by_role("region", name=re.compile("Progress note"))
    review.get_by_role("button", name="Send back").click()
    comment = page.get_by_label("What should change?")
    expect(comment).to_have_accessible_description("Say what should change.")
    comment.fill("Please add the risk assessment.")
    page.get_by_role("button", name="Send back").click()
    expect(page.get_by_role("status").first).to_contain_text("Note sent back")

    author = new_context().new_page()
    sign_in(author, therapist.email)
    author.goto(url)
    note_region = author.get_by_role("region", name=re.compile("Progress note"))
    expect(note_region).to_contain_text("Sent back by Helen Brooks")
    expect(note_region).to_contain_text("Please add the risk assessment.")
    subjective = note_region.get_by_label("Subjective")
    expect(subjective).to_be_editable()
    subjective.fill("Short note. Risk: low, no intent or plan.")
    expect(note_region.get_by_role("status")).to_contain_text("Draft saved")
    note.refresh_from_db()
    assert note.status == "draft"
    assert note.content["subjective"] == "Short note. Risk: low, no intent or plan."


def test_autosave_after_the_note_was_signed_elsewhere_says_it_is_locked(
    page: Page, therapist: Any, active_client: Any, browser_problems: BrowserProblems
) -> None:
    session = past_session(active_client, days_ago=1)
    note = services.note_save_draft(
        session=session,
        note_format="soap",
        content={"subjective": "First draft."},
        actor=session.relationship.therapist,
    )
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/sessions/{session.public_id}/")
    page.wait_for_load_state()
    services.note_sign(note=note, actor=therapist)  # e.g. signed in another tab

    browser_problems.allow(r"status of 409")  # the refused autosave's HTTP status
    page.get_by_label("Subjective").fill("First draft, changed too late.")

    expect(page.get_by_role("alert")).to_have_text(
        "This note is signed and locked. Add an addendum instead."
    )
    note.refresh_from_db()
    assert note.content["subjective"] == "First draft."


def test_mood_chart_shows_one_point_per_scored_session_with_a_summary(
    page: Page, therapist: Any, active_client: Any
) -> None:
    for days_ago, mood in ((21, 4), (14, 6), (7, 8)):
        past_session(active_client, days_ago=days_ago, mood=mood)
    past_session(active_client, days_ago=3)  # not scored: no point
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/sessions/")

    chart = sessions_region(page).get_by_role("img", name=re.compile("Mood over time"))
    expect(chart).to_be_visible()
    points = chart.locator("circle")
    expect(points).to_have_count(3)
    assert [points.nth(i).get_attribute("data-mood") for i in range(3)] == ["4", "6", "8"]
    heights = [float(points.nth(i).get_attribute("cy") or 0) for i in range(3)]
    assert heights[0] > heights[1] > heights[2]  # a higher mood is drawn higher up
    expect(chart).to_have_accessible_name(
        re.compile(r"Mood over 3 sessions .*: first 4, latest 8, lowest 4, highest 8\.")
    )
    first = datetime.now(NEW_YORK) - timedelta(days=21)
    expect(sessions_region(page).locator("#mood-chart-summary")).to_contain_text(
        f"from {first:%d %b %Y}"
    )
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 60  # drawn, readable
