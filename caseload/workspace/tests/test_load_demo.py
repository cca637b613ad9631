from collections import Counter
from io import StringIO

from django.core.management import call_command

from caseload.clients.models import CareRelationship
from caseload.documents.models import AssignedDocument, QuestionnaireSchedule
from caseload.visits.models import ProgressNote, TherapySession
from caseload.workspace.management.commands.load_demo import THERAPIST


def test_demo_practice_has_clients_in_every_state_and_a_clinical_record(db):
    call_command("load_demo", stdout=StringIO())

    states = Counter(
        CareRelationship.objects.filter(therapist__email=THERAPIST).values_list("state", flat=True)
    )
    assert states == {"active": 5, "invited": 3, "awaiting_consent": 2, "archived": 2}
    assert CareRelationship.objects.filter(client__is_child=True).count() == 2
    assert TherapySession.objects.count() == 8  # six past, one today, one in three days
    assert ProgressNote.objects.filter(status="signed").count() == 5
    # The clinical-safety parts show too: structured risk and mental status on the signed
    # notes, a flagged PHQ-9 waiting for a follow-up, and a recurring questionnaire.
    signed = ProgressNote.objects.filter(status="signed")
    assert all(note.risk_assessment["risk_level"] == "low" for note in signed)
    assert all(note.mental_status["mood"]["choice"] == "anxious" for note in signed)
    assert AssignedDocument.objects.filter(flagged=True).count() == 1
    assert QuestionnaireSchedule.objects.filter(every_weeks=2).count() == 1


def test_loading_the_demo_twice_changes_nothing(db):
    call_command("load_demo", stdout=StringIO())
    before = CareRelationship.objects.count()

    call_command("load_demo", stdout=StringIO())

    assert CareRelationship.objects.count() == before
