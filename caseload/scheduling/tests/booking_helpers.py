"""Set-up shared by the booking tests: the practice setting and the therapist's hours."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.scheduling.booking import bookable_slots
from caseload.scheduling.models import WorkingHours


def enable_booking(relationship: CareRelationship, **settings: Any) -> None:
    practice = relationship.practice
    practice.booking_requests_enabled = True
    for name, value in settings.items():
        setattr(practice, name, value)
    practice.save()


def work_every_day(therapist: Any, start: int = 9, end: int = 12) -> None:
    """Working hours on every weekday, so that free times exist whatever today is."""
    for weekday in range(7):
        WorkingHours.objects.create(
            clinician=therapist, weekday=weekday, start=time(start), end=time(end)
        )


def zone(relationship: CareRelationship) -> ZoneInfo:
    return ZoneInfo(relationship.practice.time_zone)


def local_today(relationship: CareRelationship) -> date:
    return timezone.localdate(timezone=zone(relationship))


def slots(relationship: CareRelationship) -> list[datetime]:
    return bookable_slots(relationship, today=local_today(relationship))


def ready(relationship: CareRelationship, **settings: Any) -> list[datetime]:
    """The practice takes requests, the therapist works 9–12 every day: the free times."""
    enable_booking(relationship, **settings)
    if not WorkingHours.objects.filter(clinician=relationship.therapist).exists():
        work_every_day(relationship.therapist)
    found = slots(relationship)
    assert found
    return found
