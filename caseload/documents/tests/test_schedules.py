"""Measurement-based care (decision 0026): recurring PHQ-9 / GAD-7 assigned by the worker with
an email to the client, and "not on track" on the Overview by the reliable change rule."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.audit.models import AuditEvent
from caseload.documents import schedules
from caseload.documents.models import AssignedDocument, QuestionnaireSchedule
from caseload.documents.scoring import progress
from caseload.documents.services import DocumentError
from caseload.documents.tests.helpers import answers_for, assign_one, submit
from caseload.practices.models import Practice
from caseload.visits import services as visit_services

pytestmark = pytest.mark.django_db


def schedule_url(relationship: Any) -> str:
    return f"/clients/{relationship.public_id}/documents/schedule/"


def open_questionnaires(relationship: Any, key: str = "phq9") -> int:
    return AssignedDocument.objects.filter(
        relationship=relationship, version__scoring=key, status__in=["assigned", "in_progress"]
    ).count()


def practice_zone(relationship: Any) -> ZoneInfo:
    """Dates are the practice's: the factory's practice is in New York, not UTC."""
    return ZoneInfo(relationship.practice.time_zone)


def next_run_is_deferred() -> bool:
    return DBTaskResult.objects.filter(
        task_path__endswith="assign_scheduled_questionnaires",
        status="READY",
        run_after__gt=timezone.now() + timedelta(minutes=50),
    ).exists()


# Scheduling from the Documents tab ------------------------------------------------------
def test_every_two_weeks_the_worker_assigns_and_emails_then_runs_again_later(
    therapist: Any,
    active_client: Any,
    client_user: Any,
    library: Any,
    signed_in: Any,
    outbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    browser = signed_in(therapist)
    tab = browser.get(f"/clients/{active_client.public_id}/documents/").content.decode()
    assert "Schedule a questionnaire" in tab

    with django_capture_on_commit_callbacks(execute=True):  # the worker's run is enqueued
        response = browser.post(
            schedule_url(active_client),
            {"questionnaire": "phq9", "cadence": "weeks", "every_weeks": "2"},
        )

    assert response.status_code == 302
    schedule = QuestionnaireSchedule.objects.get()
    assert (schedule.cadence, schedule.every_weeks) == ("weeks", 2)
    assert AuditEvent.objects.filter(action="questionnaire_schedule.create").count() == 1
    outbox()  # the worker: assigns, emails, and defers its next run by an hour
    assert open_questionnaires(active_client) == 1
    assert [message.to for message in mail.outbox] == [[client_user.email]]
    assert next_run_is_deferred()
    schedule.refresh_from_db()
    assert schedule.next_due is not None
    today = timezone.localdate(timezone=practice_zone(active_client))
    assert (schedule.next_due - today).days == 14
    page = browser.get(f"/clients/{active_client.public_id}/documents/").content.decode()
    assert "PHQ-9 (Patient Health Questionnaire): every 2 weeks" in page


def test_nothing_is_assigned_again_before_it_is_due_and_again_once_it_is(
    therapist: Any, active_client: Any, client_user: Any, library: Any, run_tasks: Any
) -> None:
    schedule = schedules.questionnaire_schedule_create(
        relationship=active_client,
        template=library["phq9"].template,
        cadence="weeks",
        every_weeks=1,
        actor=therapist,
    )
    schedules.assign_scheduled_questionnaires.call()
    schedules.assign_scheduled_questionnaires.call()
    assert open_questionnaires(active_client) == 1

    first = AssignedDocument.objects.get(relationship=active_client)
    submit(first, client_user, answers_for("phq9", 12))
    today = timezone.localdate(timezone=practice_zone(active_client))
    QuestionnaireSchedule.objects.filter(pk=schedule.pk).update(next_due=today)
    schedules.assign_scheduled_questionnaires.call()

    assert open_questionnaires(active_client) == 1
    assert AssignedDocument.objects.filter(relationship=active_client).count() == 2


def test_before_each_session_it_is_assigned_once_two_days_ahead(
    therapist: Any, active_client: Any, library: Any
) -> None:
    far = visit_services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=timezone.now() + timedelta(days=6),
        duration_minutes=50,
        modality="in_person",
    )
    schedules.questionnaire_schedule_create(
        relationship=active_client,
        template=library["gad7"].template,
        cadence="before_session",
        every_weeks=None,
        actor=therapist,
    )
    schedules.assign_scheduled_questionnaires.call()
    assert open_questionnaires(active_client, "gad7") == 0

    near = visit_services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=timezone.now() + timedelta(days=1),
        duration_minutes=50,
        modality="in_person",
    )
    schedules.assign_scheduled_questionnaires.call()
    schedules.assign_scheduled_questionnaires.call()

    (document,) = AssignedDocument.objects.filter(relationship=active_client)
    assert (
        document.due_date == timezone.localtime(near.starts_at, practice_zone(active_client)).date()
    )
    assert QuestionnaireSchedule.objects.get().last_session_start == near.starts_at
    assert far.starts_at > near.starts_at


def test_the_due_date_is_the_sessions_day_in_the_practice_time_zone(
    therapist: Any, active_client: Any, library: Any
) -> None:
    zone = ZoneInfo("America/Los_Angeles")
    Practice.objects.filter(pk=active_client.practice_id).update(time_zone=zone.key)
    active_client.refresh_from_db()
    tomorrow = timezone.localdate(timezone=zone) + timedelta(days=1)
    evening = datetime.combine(tomorrow, time(20, 0), tzinfo=zone)  # the next day in UTC
    visit_services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=evening,
        duration_minutes=50,
        modality="in_person",
    )
    schedules.questionnaire_schedule_create(
        relationship=active_client,
        template=library["gad7"].template,
        cadence="before_session",
        every_weeks=None,
        actor=therapist,
    )
    schedules.assign_scheduled_questionnaires.call()

    (document,) = AssignedDocument.objects.filter(relationship=active_client)
    assert document.due_date == tomorrow


def test_a_stopped_schedule_assigns_nothing(
    therapist: Any, active_client: Any, library: Any, signed_in: Any
) -> None:
    schedule = schedules.questionnaire_schedule_create(
        relationship=active_client,
        template=library["phq9"].template,
        cadence="weeks",
        every_weeks=4,
        actor=therapist,
    )

    response = signed_in(therapist).post(
        f"/clients/{active_client.public_id}/documents/schedule/{schedule.public_id}/stop/"
    )

    assert response.status_code == 302
    schedules.assign_scheduled_questionnaires.call()
    assert open_questionnaires(active_client) == 0
    assert QuestionnaireSchedule.objects.get().stopped_at is not None


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"questionnaire": "phq9", "cadence": "weeks", "every_weeks": "0"}, "1 to 12 weeks"),
        ({"questionnaire": "phq9", "cadence": "weeks", "every_weeks": ""}, "1 to 12 weeks"),
        ({"questionnaire": "intake", "cadence": "weeks", "every_weeks": "2"}, "PHQ-9 or"),
        ({"questionnaire": "gad7", "cadence": "daily"}, "Choose how often."),
    ],
)
def test_bad_input_is_a_message_not_a_schedule(
    therapist: Any, active_client: Any, library: Any, signed_in: Any, posted: Any, message: str
) -> None:
    response = signed_in(therapist).post(schedule_url(active_client), posted, follow=True)

    assert message in response.content.decode()
    assert not QuestionnaireSchedule.objects.exists()


def test_the_same_questionnaire_is_scheduled_once(
    therapist: Any, active_client: Any, library: Any
) -> None:
    kwargs = {
        "relationship": active_client,
        "template": library["gad7"].template,
        "cadence": "before_session",
        "every_weeks": None,
        "actor": therapist,
    }
    schedules.questionnaire_schedule_create(**kwargs)

    with pytest.raises(DocumentError, match="already scheduled"):
        schedules.questionnaire_schedule_create(**kwargs)


def test_only_the_therapist_schedules(
    supervisor: Any, colleague: Any, outsider: Any, active_client: Any, library: Any, signed_in: Any
) -> None:
    for stranger in (supervisor, colleague, outsider):
        response = signed_in(stranger).post(
            schedule_url(active_client), {"questionnaire": "phq9", "cadence": "before_session"}
        )
        assert response.status_code == 404
    assert not QuestionnaireSchedule.objects.exists()


# Not on track: the reliable change rule -------------------------------------------------
@pytest.mark.parametrize(
    ("key", "first", "latest", "weeks", "on_track"),
    [
        ("phq9", 8, 13, 2, False),  # up 5: reliable deterioration
        ("phq9", 8, 12, 2, True),  # up 4: within measurement error
        ("phq9", 18, 13, 10, True),  # down 5: reliable improvement
        ("phq9", 15, 12, 8, False),  # clinical range, no reliable improvement after 8 weeks
        ("phq9", 15, 12, 4, True),  # …but too early to say
        ("phq9", 7, 6, 12, True),  # below the clinical cut-off
        ("gad7", 6, 10, 1, False),  # GAD-7: up 4 is reliable
        ("gad7", 6, 9, 1, True),
        ("gad7", 14, 10, 9, True),  # down 4: reliable improvement
        ("gad7", 14, 11, 9, False),
    ],
)
def test_not_on_track_by_reliable_change(
    key: str, first: int, latest: int, weeks: int, on_track: bool
) -> None:
    assert progress(key, first=first, latest=latest, weeks=weeks, count=3).on_track is on_track


def test_the_overview_flags_a_client_not_on_track(
    therapist: Any, active_client: Any, client_user: Any, library: Any, signed_in: Any
) -> None:
    for total in (8, 14):
        submit(assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", total))

    html = signed_in(therapist).get(f"/clients/{active_client.public_id}/").content.decode()

    card = html.split('data-score="phq9"', 1)[1].split("</dd>", 1)[0]
    assert "Not on track" in card
    assert "reliable deterioration (up 6; 5 is reliable)" in card
