from collections import Counter
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.documents.models import AssignedDocument, QuestionnaireSchedule
from caseload.plans.generators.deidentify import age_band
from caseload.plans.models import PlanVersion
from caseload.scheduling.models import BlockedTime, BookingRequest, SessionSeries, WorkingHours
from caseload.visits.models import ProgressNote, TherapySession
from caseload.workspace.management.commands.load_demo import THERAPIST


def test_demo_practice_has_clients_in_every_state_and_a_clinical_record(db):
    call_command("load_demo", stdout=StringIO())

    states = Counter(
        CareRelationship.objects.filter(therapist__email=THERAPIST).values_list("state", flat=True)
    )
    assert states == {"active": 5, "invited": 3, "awaiting_consent": 2, "archived": 2}
    assert CareRelationship.objects.filter(client__is_child=True).count() == 2
    # Six past, one today, one in three days, and three series (12 + 8 + 6).
    assert TherapySession.objects.count() == 8 + 26
    assert ProgressNote.objects.filter(status="signed").count() == 5
    # The clinical-safety parts show too: structured risk and mental status on the signed
    # notes, a flagged PHQ-9 waiting for a follow-up, and a recurring questionnaire.
    signed = ProgressNote.objects.filter(status="signed")
    assert all(note.risk_assessment["risk_level"] == "low" for note in signed)
    assert all(note.mental_status["mood"]["choice"] == "anxious" for note in signed)
    assert AssignedDocument.objects.filter(flagged=True).count() == 1
    assert QuestionnaireSchedule.objects.filter(every_weeks=2).count() == 1
    # Maya's generated plan reads her record as it stands: her age band from her birth date.
    version = PlanVersion.objects.select_related("plan__relationship").get(
        plan__relationship__client_name="Maya Patel"
    )
    relationship = version.plan.relationship
    band = age_band(relationship.date_of_birth, version.plan.effective_date)
    assert band is not None and f"age band {band}" in version.html


def test_demo_week_has_a_series_a_booking_request_and_a_telehealth_session(db):
    call_command("load_demo", stdout=StringIO())

    therapist = CareRelationship.objects.filter(therapist__email=THERAPIST).first().therapist
    practice = therapist.membership.practice
    assert practice.booking_requests_enabled
    assert practice.reminder_offsets == (24,)
    assert SessionSeries.objects.count() == 3
    assert WorkingHours.objects.filter(clinician=therapist).count() == 7
    assert BlockedTime.objects.filter(clinician=therapist).count() == 1
    assert BookingRequest.objects.filter(status="pending").count() == 1
    telehealth = TherapySession.objects.filter(modality="telehealth", starts_at__gt=timezone.now())
    assert telehealth.exists()
    assert all(session.video_room for session in telehealth)
    # The current week is populated: sessions in the next seven days.
    soon = TherapySession.objects.filter(
        starts_at__gt=timezone.now(), starts_at__lt=timezone.now() + timedelta(days=7)
    )
    assert soon.count() >= 4


def test_loading_the_demo_twice_changes_nothing(db):
    call_command("load_demo", stdout=StringIO())
    before = CareRelationship.objects.count()

    call_command("load_demo", stdout=StringIO())

    assert CareRelationship.objects.count() == before


def test_todays_demo_session_is_still_to_come_so_one_note_is_due_at_any_hour(db):
    from caseload.visits.selectors import unsigned_past_sessions_q

    call_command("load_demo", stdout=StringIO())
    maya = CareRelationship.objects.get(client_name="Maya Patel")
    sessions = TherapySession.objects.filter(relationship=maya)
    assert sessions.filter(unsigned_past_sessions_q()).count() == 1  # last week's, unwritten
    assert sessions.filter(starts_at__gte=timezone.now() + timedelta(minutes=29)).count() == 2


def test_a_demo_time_already_passed_moves_to_the_next_quarter_hour_half_an_hour_ahead():
    from zoneinfo import ZoneInfo

    from caseload.workspace.management.commands.load_demo import _still_to_come

    zone = ZoneInfo("America/New_York")
    later = timezone.now().astimezone(zone) + timedelta(hours=2)
    assert _still_to_come(later) == later
    moved = _still_to_come(timezone.now().astimezone(zone) - timedelta(hours=1))
    assert moved.minute % 15 == 0 and moved.second == 0
    soonest = timezone.now() + timedelta(minutes=30)
    assert soonest - timedelta(minutes=1) <= moved <= soonest + timedelta(minutes=15)
