"""Recurring sessions (SCH-1): expansion, daylight saving, overlaps, "this and following"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.scheduling import recurrence
from caseload.scheduling.models import MAX_OCCURRENCES, SeriesOccurrence, SessionSeries
from caseload.visits import services as visit_services
from caseload.visits.models import SessionStatus, TherapySession

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the fixture practice's time zone


def next_monday(weeks_ahead: int = 1, hour: int = 10) -> datetime:
    today = timezone.localdate(timezone=NEW_YORK)
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)
    return datetime(monday.year, monday.month, monday.day, hour, tzinfo=NEW_YORK)


def local_starts(series: SessionSeries) -> list[datetime]:
    sessions = TherapySession.objects.filter(series_occurrence__series=series).order_by(
        "series_occurrence__position"
    )
    return [timezone.localtime(session.starts_at, NEW_YORK) for session in sessions]


def make(relationship, starts_at, frequency="weekly", **kwargs):
    return recurrence.series_create(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=kwargs.pop("duration_minutes", 50),
        modality=kwargs.pop("modality", "in_person"),
        frequency=frequency,
        **kwargs,
    )


# Expansion -----------------------------------------------------------------------------------
def test_weekly_series_after_six_creates_six_linked_sessions_a_week_apart(active_client):
    first = next_monday()

    series = make(active_client, first, count=6)

    starts = local_starts(series)
    assert starts == [first + timedelta(weeks=n) for n in range(6)]
    positions = list(
        SeriesOccurrence.objects.filter(series=series).values_list("position", flat=True)
    )
    assert positions == [1, 2, 3, 4, 5, 6]
    assert all(
        s.status == SessionStatus.SCHEDULED
        for s in TherapySession.objects.filter(relationship=active_client)
    )
    event = AuditEvent.objects.get(action="series.create")
    assert event.detail == {"frequency": "weekly", "sessions": 6}


def test_every_two_weeks_until_a_date_includes_that_date(active_client):
    first = next_monday()
    until = (first + timedelta(weeks=6)).date()

    series = make(active_client, first, "biweekly", until=until)

    assert [start.date() for start in local_starts(series)] == [
        (first + timedelta(weeks=n)).date() for n in (0, 2, 4, 6)
    ]


def test_monthly_by_weekday_keeps_the_second_tuesday():
    starts = recurrence.expand(
        starts_at=datetime(2027, 1, 12, 9, tzinfo=NEW_YORK),  # the 2nd Tuesday
        zone=NEW_YORK,
        frequency="monthly",
        count=4,
    )

    assert [start.date() for start in starts] == [
        date(2027, 1, 12),
        date(2027, 2, 9),
        date(2027, 3, 9),
        date(2027, 4, 13),
    ]
    assert {start.hour for start in starts} == {9}


def test_monthly_from_a_fifth_weekday_meets_on_the_last_one():
    starts = recurrence.expand(
        starts_at=datetime(2027, 3, 30, 9, tzinfo=NEW_YORK),  # the 5th Tuesday of March
        zone=NEW_YORK,
        frequency="monthly",
        count=3,
    )

    assert [start.date() for start in starts] == [
        date(2027, 3, 30),
        date(2027, 4, 27),
        date(2027, 5, 25),
    ]


def test_weekly_ten_oclock_stays_at_ten_across_the_november_clock_change():
    starts = recurrence.expand(
        starts_at=datetime(2026, 10, 26, 10, tzinfo=NEW_YORK),
        zone=NEW_YORK,
        frequency="weekly",
        count=3,
    )

    assert [start.astimezone(NEW_YORK).hour for start in starts] == [10, 10, 10]
    # 10:00 EDT is 14:00 UTC; after 1 November, 10:00 EST is 15:00 UTC.
    assert [start.astimezone(UTC).hour for start in starts] == [14, 15, 15]


def test_a_series_created_across_the_clock_change_stores_the_right_instants(active_client):
    series = make(active_client, datetime(2026, 10, 26, 10, tzinfo=NEW_YORK), count=2)

    stored = list(
        TherapySession.objects.filter(series_occurrence__series=series)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
    )
    assert stored == [
        datetime(2026, 10, 26, 14, tzinfo=UTC),
        datetime(2026, 11, 2, 15, tzinfo=UTC),
    ]


def test_count_and_until_are_each_bounded():
    first = datetime(2027, 1, 4, 10, tzinfo=NEW_YORK)
    with pytest.raises(visit_services.VisitError) as error:
        recurrence.expand(
            starts_at=first, zone=NEW_YORK, frequency="weekly", until=date(2030, 1, 1)
        )
    assert error.value.field == "until"
    assert (
        len(
            recurrence.expand(
                starts_at=first, zone=NEW_YORK, frequency="weekly", count=MAX_OCCURRENCES
            )
        )
        == MAX_OCCURRENCES
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": MAX_OCCURRENCES + 1}, "count"),
        ({}, "ends"),
        ({"count": 3, "until": date(2027, 6, 1)}, "ends"),
        ({"until": date(2020, 1, 1)}, "until"),
        ({"count": 3, "frequency": "daily"}, "frequency"),
        ({"count": 3, "duration_minutes": 2}, "duration_minutes"),
        ({"count": 3, "modality": "carrier pigeon"}, "modality"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_made(active_client, kwargs, field):
    frequency = kwargs.pop("frequency", "weekly")
    with pytest.raises(visit_services.VisitError) as error:
        make(active_client, next_monday(), frequency, **kwargs)

    assert error.value.field == field
    assert not SessionSeries.objects.exists()
    assert not TherapySession.objects.exists()


# Overlaps and rights -------------------------------------------------------------------------
def test_a_series_that_overlaps_a_session_warns_with_the_dates_and_makes_nothing(
    active_client, child_client
):
    first = next_monday()
    clash = first + timedelta(weeks=2, minutes=30)
    visit_services.session_schedule(
        relationship=child_client,
        actor=child_client.therapist,
        starts_at=clash,
        duration_minutes=50,
        modality="in_person",
    )

    with pytest.raises(recurrence.SeriesOverlapWarning) as warning:
        make(active_client, first, count=4)

    assert warning.value.dates == [clash.date()]
    assert clash.strftime("%-d %b %Y") in str(warning.value)
    assert not SessionSeries.objects.exists()
    assert TherapySession.objects.count() == 1

    series = make(active_client, first, count=4, allow_overlap=True)
    assert len(local_starts(series)) == 4


def test_only_the_clients_therapist_creates_a_series(active_client, colleague, supervisor):
    for actor in (colleague, supervisor):
        with pytest.raises(visit_services.VisitError, match="Only the client's therapist"):
            recurrence.series_create(
                relationship=active_client,
                actor=actor,
                starts_at=next_monday(),
                duration_minutes=50,
                modality="in_person",
                frequency="weekly",
                count=3,
            )

    assert not TherapySession.objects.exists()


# This and following -------------------------------------------------------------------------
def test_this_and_following_moves_the_later_sessions_and_leaves_the_earlier(active_client):
    first = next_monday()
    series = make(active_client, first, count=6)
    third = TherapySession.objects.get(
        series_occurrence__series=series, series_occurrence__position=3
    )
    new_start = timezone.localtime(third.starts_at, NEW_YORK).replace(hour=14, minute=30)

    new = recurrence.series_update_following(
        session=third,
        actor=active_client.therapist,
        values={"starts_at": new_start, "duration_minutes": 45, "modality": "telehealth"},
    )

    old_starts = local_starts(series)
    assert old_starts == [first, first + timedelta(weeks=1)]
    moved = local_starts(new)
    assert moved == [new_start + timedelta(weeks=n) for n in range(4)]
    assert new.previous == series
    assert new.count == 4
    series.refresh_from_db()
    assert series.until == (first + timedelta(weeks=2) - timedelta(days=1)).date()
    assert series.count is None
    later = TherapySession.objects.filter(series_occurrence__series=new)
    assert {(s.duration_minutes, s.modality) for s in later} == {(45, "telehealth")}
    assert all(s.video_room for s in later)
    assert TherapySession.objects.count() == 6  # moved in place: nothing deleted
    event = AuditEvent.objects.get(action="series.update_following")
    assert event.detail["sessions"] == 4


def test_this_and_following_can_shift_the_weekday_and_keeps_wall_clock_over_dst(
    active_client,
):
    # Weekly Mondays from 1 March 2027 across 14 March (clocks go forward).
    series = make(active_client, datetime(2027, 3, 1, 10, tzinfo=NEW_YORK), count=4)
    if timezone.now() > datetime(2027, 3, 1, tzinfo=UTC):
        pytest.skip("needs 2027-03 to be ahead")
    second = TherapySession.objects.get(
        series_occurrence__series=series, series_occurrence__position=2
    )

    new = recurrence.series_update_following(
        session=second,
        actor=active_client.therapist,
        values={"starts_at": datetime(2027, 3, 9, 9, tzinfo=NEW_YORK)},  # Tuesday, 09:00
    )

    assert local_starts(new) == [
        datetime(2027, 3, 9, 9, tzinfo=NEW_YORK),
        datetime(2027, 3, 16, 9, tzinfo=NEW_YORK),
        datetime(2027, 3, 23, 9, tzinfo=NEW_YORK),
    ]


def test_this_and_following_never_moves_a_session_with_a_note(active_client):
    first = next_monday()
    series = make(active_client, first, count=4)
    sessions = list(
        TherapySession.objects.filter(series_occurrence__series=series).order_by("starts_at")
    )
    visit_services.note_save_draft(
        session=sessions[3],
        actor=active_client.therapist,
        note_format="soap",
        content={"plan": "Prepared ahead."},
    )

    new = recurrence.series_update_following(
        session=sessions[1],
        actor=active_client.therapist,
        values={"starts_at": sessions[1].starts_at + timedelta(hours=2)},
    )

    assert len(local_starts(new)) == 2
    sessions[3].refresh_from_db()
    assert timezone.localtime(sessions[3].starts_at, NEW_YORK) == first + timedelta(weeks=3)
    assert sessions[3].series_occurrence.series == series


def test_this_and_following_warns_of_overlaps_and_changes_nothing(active_client, child_client):
    first = next_monday()
    series = make(active_client, first, count=3)
    visit_services.session_schedule(
        relationship=child_client,
        actor=child_client.therapist,
        starts_at=first + timedelta(weeks=2, hours=4),
        duration_minutes=50,
        modality="in_person",
    )
    second = TherapySession.objects.get(
        series_occurrence__series=series, series_occurrence__position=2
    )

    with pytest.raises(recurrence.SeriesOverlapWarning):
        recurrence.series_update_following(
            session=second,
            actor=active_client.therapist,
            values={"starts_at": second.starts_at + timedelta(hours=4)},
        )

    assert local_starts(series) == [first + timedelta(weeks=n) for n in range(3)]
    assert SessionSeries.objects.count() == 1


def test_cancel_following_cancels_later_scheduled_ones_only(active_client):
    first = (
        timezone.localtime(timezone.now(), NEW_YORK).replace(minute=0, second=0, microsecond=0)
        + timedelta(hours=1)
        - timedelta(weeks=2)
    )
    series = make(active_client, first, count=6)
    sessions = list(
        TherapySession.objects.filter(series_occurrence__series=series).order_by("starts_at")
    )
    visit_services.note_save_draft(
        session=sessions[4],
        actor=active_client.therapist,
        note_format="soap",
        content={"plan": "Prepared ahead."},
    )

    count = recurrence.series_cancel_following(session=sessions[0], actor=active_client.therapist)

    statuses = [
        s.status
        for s in TherapySession.objects.filter(pk__in=[s.pk for s in sessions]).order_by(
            "starts_at"
        )
    ]
    # Two past ones and the noted one untouched; the remaining three ahead cancelled.
    assert statuses[:2] == [SessionStatus.SCHEDULED] * 2
    assert statuses[4] == SessionStatus.SCHEDULED
    assert statuses[2] == statuses[3] == statuses[5] == SessionStatus.CANCELLED
    assert count == 3
    assert AuditEvent.objects.get(action="series.cancel_following").detail == {"sessions": 3}


def test_only_the_therapist_edits_or_cancels_a_series(active_client, colleague, supervisor):
    series = make(active_client, next_monday(), count=3)
    session = TherapySession.objects.filter(series_occurrence__series=series).first()
    for actor in (colleague, supervisor):
        with pytest.raises(visit_services.VisitError):
            recurrence.series_cancel_following(session=session, actor=actor)
        with pytest.raises(visit_services.VisitError):
            recurrence.series_update_following(
                session=session,
                actor=actor,
                values={"starts_at": session.starts_at + timedelta(hours=1)},
            )

    assert not TherapySession.objects.exclude(status=SessionStatus.SCHEDULED).exists()
    assert SessionSeries.objects.count() == 1


def test_an_archived_clients_series_is_refused(active_client):
    from caseload.clients.services import relationship_archive

    relationship_archive(relationship=active_client, actor=active_client.therapist)
    active_client.refresh_from_db()

    with pytest.raises(visit_services.VisitError, match="Restore this client"):
        make(active_client, next_monday(), count=3)
    assert not TherapySession.objects.exists()


def test_moving_the_following_sessions_past_the_last_date_is_refused(active_client):
    series = make(active_client, datetime(2199, 12, 2, 10, tzinfo=NEW_YORK), count=4)
    first = TherapySession.objects.order_by("starts_at").first()

    with pytest.raises(visit_services.VisitError) as refused:
        recurrence.series_update_following(
            session=first,
            actor=active_client.therapist,
            values={"starts_at": datetime(2199, 12, 20, 10, tzinfo=NEW_YORK)},
        )

    assert refused.value.field == "starts_at"
    assert local_starts(series)[-1].date() == date(2199, 12, 23)  # nothing moved
    assert SessionSeries.objects.count() == 1
