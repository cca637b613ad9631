"""Working hours and blocked times (SCH-1): the services, the page, and conflicts."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from caseload.audit.models import AuditEvent
from caseload.scheduling import services
from caseload.scheduling.availability import conflicts_for
from caseload.scheduling.forms import BlockedTimeForm, WorkingHoursForm
from caseload.scheduling.models import BlockedTime, WorkingHours

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
URL = "/calendar/availability/"


def test_working_hours_replace_the_old_ones_with_several_spans_a_day(therapist):
    WorkingHours.objects.create(clinician=therapist, weekday=4, start=time(8), end=time(12))

    services.working_hours_set(
        clinician=therapist,
        actor=therapist,
        days={0: [(time(9), time(12)), (time(13), time(17))], 2: [(time(10), time(18))]},
    )

    rows = list(
        WorkingHours.objects.filter(clinician=therapist).values_list("weekday", "start", "end")
    )
    assert rows == [
        (0, time(9), time(12)),
        (0, time(13), time(17)),
        (2, time(10), time(18)),
    ]
    assert AuditEvent.objects.filter(action="availability.hours_set").count() == 1


def test_only_the_clinician_changes_their_availability(therapist, colleague, supervisor):
    for actor in (colleague, supervisor):
        with pytest.raises(services.AvailabilityError):
            services.working_hours_set(clinician=therapist, actor=actor, days={})
        with pytest.raises(services.AvailabilityError):
            services.blocked_time_add(
                clinician=therapist,
                actor=actor,
                starts_at=datetime(2027, 1, 4, 9, tzinfo=NEW_YORK),
                ends_at=datetime(2027, 1, 4, 12, tzinfo=NEW_YORK),
            )
    block = services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=datetime(2027, 1, 4, 9, tzinfo=NEW_YORK),
        ends_at=datetime(2027, 1, 4, 12, tzinfo=NEW_YORK),
    )
    with pytest.raises(services.AvailabilityError):
        services.blocked_time_delete(blocked=block, actor=colleague)
    assert BlockedTime.objects.count() == 1


def test_conflicts_name_blocked_time_and_hours_outside_work(therapist):
    services.working_hours_set(
        clinician=therapist, actor=therapist, days={0: [(time(9), time(17))]}
    )
    services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=datetime(2027, 1, 4, 12, tzinfo=NEW_YORK),
        ends_at=datetime(2027, 1, 4, 13, tzinfo=NEW_YORK),
        reason="Training",
    )

    at_noon = conflicts_for(
        therapist, starts_at=datetime(2027, 1, 4, 12, 30, tzinfo=NEW_YORK), duration_minutes=50
    )
    evening = conflicts_for(
        therapist, starts_at=datetime(2027, 1, 4, 18, tzinfo=NEW_YORK), duration_minutes=50
    )
    morning = conflicts_for(
        therapist, starts_at=datetime(2027, 1, 4, 10, tzinfo=NEW_YORK), duration_minutes=50
    )

    assert at_noon.messages == ["Falls in blocked time."]
    assert evening.messages == ["Outside working hours."]
    assert not morning


# The page ------------------------------------------------------------------------------------
def test_the_page_shows_a_row_per_weekday(therapist, signed_in):
    response = signed_in(therapist).get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        assert f'<th scope="row">{day}</th>' in html


def test_saving_the_hours_form(therapist, signed_in):
    response = signed_in(therapist).post(
        URL,
        {
            "day0_start1": "09:00",
            "day0_end1": "12:00",
            "day0_start2": "13:00",
            "day0_end2": "17:00",
            "day3_start1": "10:00",
            "day3_end1": "16:00",
        },
    )

    assert response.status_code == 302
    assert WorkingHours.objects.filter(clinician=therapist).count() == 3


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"day1_start1": "12:00", "day1_end1": "09:00"}, "day1_end1", "End after the start"),
        ({"day1_start1": "09:00"}, "day1_end1", "Give both the start and the end"),
        (
            {
                "day1_start1": "09:00",
                "day1_end1": "13:00",
                "day1_start2": "12:00",
                "day1_end2": "15:00",
            },
            "day1_start2",
            "overlap",
        ),
        ({"day1_start1": "nine", "day1_end1": "10:00"}, "day1_start1", "Enter a valid time"),
    ],
)
def test_bad_hours_get_a_field_error_and_nothing_changes(data, field, message):
    form = WorkingHoursForm(data)

    assert not form.is_valid()
    assert message in form.errors[field][0]


def test_bad_blocked_time_gets_field_errors():
    form = BlockedTimeForm(
        {
            "start_date": "2027-01-04",
            "start_time": "12:00",
            "end_date": "2027-01-04",
            "end_time": "11:00",
            "reason": "x" * 121,
        },
        time_zone=NEW_YORK,
    )

    assert not form.is_valid()
    assert "ends after it starts" in form.errors["end_time"][0]
    assert "at most 120 characters" in form.errors["reason"][0]


def test_adding_and_deleting_a_blocked_time(therapist, colleague, signed_in):
    browser = signed_in(therapist)
    response = browser.post(
        f"{URL}blocked/",
        {
            "start_date": "2027-01-04",
            "start_time": "12:00",
            "end_date": "2027-01-04",
            "end_time": "14:00",
            "reason": "Training",
        },
    )
    assert response.status_code == 302
    block = BlockedTime.objects.get(clinician=therapist)
    assert block.starts_at == datetime(2027, 1, 4, 12, tzinfo=NEW_YORK)
    assert block.ends_at - block.starts_at == timedelta(hours=2)
    assert "Training" in browser.get(URL).content.decode()

    # Another clinician can't delete it: 404, and it stays.
    assert signed_in(colleague).post(f"{URL}blocked/{block.public_id}/delete/").status_code == 404
    assert BlockedTime.objects.filter(pk=block.pk).exists()

    assert browser.post(f"{URL}blocked/{block.public_id}/delete/").status_code == 302
    assert not BlockedTime.objects.exists()


def test_admins_and_clients_have_no_availability_page(practice_admin, client_user, signed_in):
    for user in (practice_admin, client_user):
        assert signed_in(user).get(URL).status_code == 404


@pytest.mark.parametrize(
    ("start_date", "end_date", "field"),
    [
        ("2027-01-04", "9999-12-31", "end_date"),
        ("0001-01-01", "2027-01-04", "start_date"),
    ],
)
def test_a_blocked_time_out_of_range_is_a_field_error_not_a_500(
    therapist, signed_in, start_date, end_date, field
):
    response = signed_in(therapist).post(
        f"{URL}blocked/",
        {
            "start_date": start_date,
            "start_time": "00:30",
            "end_date": end_date,
            "end_time": "23:30",
            "reason": "",
        },
    )

    assert response.status_code == 200
    form = response.context["blocked_form"]
    assert "Choose a date between 1 January 1900 and 31 December 2199." in form.errors[field][0]
    assert not BlockedTime.objects.exists()
