"""Load a demo practice: staff, and a dozen clients in every state. Safe to run twice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients import services
from caseload.clients.models import BillingType, GuardianRelationship
from caseload.clinical import services as clinical_services
from caseload.documents import services as document_services
from caseload.documents.library import sync_library
from caseload.documents.models import AssignedDocument
from caseload.documents.schedules import questionnaire_schedule_create
from caseload.messaging import services as messaging_services
from caseload.messaging.models import Message
from caseload.plans import services as plan_services
from caseload.plans.generators import KnowledgeBaseGenerator, PlanOptions, build_plan_input
from caseload.practices.models import Membership, Practice, ReminderSetting, Role
from caseload.scheduling import services as scheduling_services
from caseload.scheduling.booking import bookable_slots, booking_request_create
from caseload.scheduling.models import Frequency
from caseload.scheduling.recurrence import series_create
from caseload.visits import services as visit_services
from caseload.visits.assessment import MSE_DOMAINS

DEMO_PASSWORD = "caseload-demo-2026"  # noqa: S105 (published demo logins)
THERAPIST = "therapist@demo.caseload.test"
SUPERVISOR = "supervisor@demo.caseload.test"
ADMIN = "admin@demo.caseload.test"
CLIENT = "maya.patel@demo.caseload.test"
GUARDIAN = "sam.okafor@demo.caseload.test"


def make_account(email: str, full_name: str) -> User:
    user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _still_to_come(preferred: datetime) -> datetime:
    """`preferred`, or the next quarter hour at least half an hour from now once it is
    nearer than that: a session meant to be still to come stays so whenever the demo loads."""
    soonest = timezone.now().astimezone(preferred.tzinfo) + timedelta(minutes=30)
    if preferred >= soonest:
        return preferred
    rounded = soonest.replace(second=0, microsecond=0)
    return rounded + timedelta(minutes=-rounded.minute % 15)


class Command(BaseCommand):
    help = "Create the demo practice with its staff and clients (skipped when it exists)."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(email=THERAPIST).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            self._load()
        self.stdout.write(
            f"\nDemo logins (password for all: {DEMO_PASSWORD}):\n"
            f"  therapist        {THERAPIST}\n"
            f"  supervisor       {SUPERVISOR}\n"
            f"  practice admin   {ADMIN}\n"
            f"  client           {CLIENT}\n"
            f"  guardian         {GUARDIAN}\n"
        )

    @transaction.atomic
    def _load(self) -> None:
        practice = Practice.objects.create(
            name="Riverside Counseling",
            time_zone="America/New_York",
            billing_enabled=True,
            child_accounts_enabled=True,
            # Scheduling: clients request times in the portal, reminders the day before, and
            # each telehealth session gets its own video room.
            booking_requests_enabled=True,
            reminders=ReminderSetting.DAY_BEFORE,
            telehealth_url_template="https://meet.jit.si/riverside-{room}",
        )
        supervisor = make_account(SUPERVISOR, "Dr. Helen Brooks")
        supervisor_membership = Membership.objects.create(
            user=supervisor, practice=practice, role=Role.SUPERVISOR
        )
        therapist = make_account(THERAPIST, "Dr. Alex Rivera")
        Membership.objects.create(
            user=therapist, practice=practice, role=Role.THERAPIST, supervisor=supervisor_membership
        )
        colleague = make_account("jordan.lee@demo.caseload.test", "Jordan Lee, LCSW")
        Membership.objects.create(user=colleague, practice=practice, role=Role.THERAPIST)
        admin = make_account(ADMIN, "Priya Shah")
        Membership.objects.create(user=admin, practice=practice, role=Role.ADMIN)

        def add(name: str, email: str, billing: str = BillingType.CASH_PAY, **kwargs: Any) -> Any:
            return services.client_add(
                actor=therapist, full_name=name, email=email, billing_type=billing, **kwargs
            )

        def sign_up(added: Any, email: str, name: str) -> User:
            user = make_account(email, name)
            services.invitation_accept(invitation=added.invitation, actor=user)
            return user

        # Active clients who signed up.
        maya = add("Maya Patel", CLIENT)
        sign_up(maya, CLIENT, "Maya Patel")
        daniel = add("Daniel Kim", "daniel.kim@demo.caseload.test", BillingType.INSURANCE)
        sign_up(daniel, "daniel.kim@demo.caseload.test", "Daniel Kim")
        sofia = add("Sofía Hernández", "sofia.hernandez@demo.caseload.test", BillingType.INSURANCE)
        sign_up(sofia, "sofia.hernandez@demo.caseload.test", "Sofía Hernández")
        thomas = add("Thomas Wright", "thomas.wright@demo.caseload.test", BillingType.NOT_BILLED)
        sign_up(thomas, "thomas.wright@demo.caseload.test", "Thomas Wright")
        # Pending: invited, not signed up yet.
        add("Grace Liu", "grace.liu@demo.caseload.test")
        add("Omar Haddad", "omar.haddad@demo.caseload.test", BillingType.INSURANCE)
        # Awaiting approval: they already have accounts (clients of a colleague).
        for name, email in [
            ("Elena Rossi", "elena.rossi@demo.caseload.test"),
            ("Marcus Johnson", "marcus.johnson@demo.caseload.test"),
        ]:
            existing = services.client_add(actor=colleague, full_name=name, email=email)
            sign_up(existing, email, name)
            add(name, email)
        # A child whose guardian manages the account, and a child whose guardian is invited.
        child = add(
            "Ava Okafor",
            "",
            BillingType.INSURANCE,
            is_child=True,
            guardian_name="Sam Okafor",
            guardian_email=GUARDIAN,
            guardian_relationship=GuardianRelationship.PARENT,
        )
        sign_up(child, GUARDIAN, "Sam Okafor")
        add(
            "Leo Martin",
            "",
            is_child=True,
            guardian_name="Claire Martin",
            guardian_email="claire.martin@demo.caseload.test",
            guardian_relationship=GuardianRelationship.LEGAL_GUARDIAN,
        )
        # Archived: one who never signed up, one with an account.
        services.relationship_archive(
            relationship=add("Ben Carter", "ben.carter@demo.caseload.test").relationship,
            actor=therapist,
        )
        former = add("Nora Fischer", "nora.fischer@demo.caseload.test")
        sign_up(former, "nora.fischer@demo.caseload.test", "Nora Fischer")
        former.relationship.refresh_from_db()
        services.relationship_archive(relationship=former.relationship, actor=therapist)
        maya.relationship.refresh_from_db()
        self._clinical_record(maya.relationship, therapist)
        self._documents(maya.relationship, therapist, child.relationship)
        daniel.relationship.refresh_from_db()
        self._flagged_answer(daniel.relationship, therapist)
        child.relationship.refresh_from_db()
        self._messages(maya.relationship, child.relationship, therapist)
        self._calendar(therapist, daniel.relationship, sofia.relationship, thomas.relationship)
        self.stdout.write(self.style.SUCCESS("Demo practice created."))

    def _clinical_record(self, relationship: Any, therapist: User) -> None:
        """Maya's record: details, diagnoses, a medication, history and months of sessions."""
        services.relationship_update_details(
            relationship=relationship,
            section="personal",
            values={
                "phone": "+1 212 555 0147",
                "date_of_birth": date(1991, 6, 14),
                "pronouns": "she/her",
                "address": "24 Orchard Street, Apt 3B\nNew York, NY 10002",
            },
            actor=therapist,
        )
        services.relationship_update_details(
            relationship=relationship,
            section="emergency",
            values={
                "emergency_name": "Ravi Patel",
                "emergency_relationship": "Brother",
                "emergency_phone": "+1 212 555 0199",
            },
            actor=therapist,
        )
        clinical_services.diagnosis_add(
            relationship=relationship, code="F41.1", onset_date=date(2025, 3, 1), actor=therapist
        )
        clinical_services.diagnosis_add(relationship=relationship, code="F33.1", actor=therapist)
        clinical_services.medication_save(
            relationship=relationship,
            values={
                "name": "Sertraline",
                "dose": "50 mg",
                "frequency": "Once daily",
                "prescriber": "Dr. Amy Chen",
                "start_date": date(2025, 4, 10),
            },
            actor=therapist,
        )
        clinical_services.clinical_summary_update(
            relationship=relationship,
            presenting_concerns="Persistent worry about work and health; poor sleep; low mood "
            "on most days for the past three months.",
            mental_health_history="One prior depressive episode at 24, treated with CBT. "
            "No hospitalisations.",
            actor=therapist,
        )
        zone = ZoneInfo(relationship.practice.time_zone)
        today = timezone.localdate(timezone=zone)
        moods = [4, 4, 5, 5, 6, 7]
        for weeks_ago, mood in zip(range(len(moods), 0, -1), moods, strict=True):
            starts_at = datetime.combine(
                today - timedelta(weeks=weeks_ago), time(10, 0), tzinfo=zone
            )
            session = visit_services.session_schedule(
                relationship=relationship,
                starts_at=starts_at,
                duration_minutes=50,
                modality="telehealth" if weeks_ago % 2 else "in_person",
                actor=therapist,
            )
            visit_services.session_update(
                session=session, values={"status": "completed", "mood_score": mood}, actor=therapist
            )
            if weeks_ago == 1:
                continue  # last week's note is still to write: it shows as needing attention
            note = visit_services.note_save_draft(
                session=session,
                note_format="soap",
                content={
                    "subjective": f"Client reports mood {mood}/10; worry still centred on work.",
                    "objective": "Engaged, good eye contact, affect congruent.",
                    "assessment": "Gradual improvement in anxiety symptoms with CBT skills.",
                    "plan": "Continue worry-time exercise; review sleep diary next session.",
                },
                # The structured risk assessment and mental status exam, as on every note.
                risk_assessment={
                    "suicidal_ideation": "none",
                    "homicidal_ideation": "none",
                    "self_harm": "none",
                    "protective_factors": "Close to her brother; motivated for therapy.",
                    "risk_level": "low",
                },
                mental_status={
                    **{domain.key: {"choice": domain.choices[0][0]} for domain in MSE_DOMAINS},
                    "mood": {"choice": "anxious", "text": '"A bit better this week"'},
                },
                actor=therapist,
            )
            visit_services.note_sign(note=note, actor=therapist)
        # A plan generated from the knowledge base, due for review soon (shows the badge),
        # from the record as it now stands (her date of birth gives the age band).
        relationship.refresh_from_db()
        plan_input = build_plan_input(relationship, start_date=today - timedelta(days=80))
        options = PlanOptions(length="medium", tone="professional", format="structured")
        plan_services.plan_create(
            relationship=relationship,
            actor=therapist,
            html=KnowledgeBaseGenerator().generate(plan_input, options),
            effective_date=today - timedelta(days=80),
            review_date=today + timedelta(days=10),
            source="generated",
            options={"length": "medium", "tone": "professional", "format": "structured"},
        )
        visit_services.session_schedule(
            relationship=relationship,
            starts_at=datetime.combine(today + timedelta(days=3), time(10, 0), tzinfo=zone),
            duration_minutes=50,
            modality="in_person",
            actor=therapist,
        )
        # Today's session (for the home page), still to come whenever the demo is loaded:
        # five in the afternoon, or the next quarter hour at least half an hour from now
        # once that has passed (after half past eleven at night, it falls on tomorrow).
        visit_services.session_schedule(
            relationship=relationship,
            starts_at=_still_to_come(datetime.combine(today, time(17, 0), tzinfo=zone)),
            duration_minutes=30,
            modality="telehealth",
            actor=therapist,
            allow_overlap=True,
        )

    def _calendar(self, therapist: User, daniel: Any, sofia: Any, thomas: Any) -> None:
        """The therapist's week: working hours, Friday afternoon blocked, a weekly series of
        Daniel's, Sofía's fortnightly telehealth sessions, Thomas monthly, and a request from
        Sofía for one of the free times, waiting on the home page."""
        for relationship in (daniel, sofia, thomas):
            relationship.refresh_from_db()
        zone = ZoneInfo(daniel.practice.time_zone)
        today = timezone.localdate(timezone=zone)
        scheduling_services.working_hours_set(
            clinician=therapist,
            actor=therapist,
            days={
                weekday: [(time(9, 0), time(17, 0))]
                if weekday in (0, 2, 4)
                else [(time(9, 0), time(12, 0)), (time(13, 0), time(19, 0))]
                for weekday in range(5)
            },
        )
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        scheduling_services.blocked_time_add(
            clinician=therapist,
            actor=therapist,
            starts_at=datetime.combine(friday, time(13, 0), tzinfo=zone),
            ends_at=datetime.combine(friday, time(17, 0), tzinfo=zone),
            reason="Supervision training",
        )

        def next_weekday(day: date) -> date:
            while day.weekday() > 4:
                day += timedelta(days=1)
            return day

        first = next_weekday(today + timedelta(days=1))
        for relationship, day, hour, modality, frequency, count in (
            (daniel, first, 14, "in_person", Frequency.WEEKLY, 12),
            (
                sofia,
                next_weekday(first + timedelta(days=1)),
                11,
                "telehealth",
                Frequency.EVERY_TWO_WEEKS,
                8,
            ),
            (
                thomas,
                next_weekday(first + timedelta(days=2)),
                16,
                "in_person",
                Frequency.MONTHLY_BY_WEEKDAY,
                6,
            ),
        ):
            series_create(
                relationship=relationship,
                actor=therapist,
                starts_at=datetime.combine(day, time(hour, 0), tzinfo=zone),
                duration_minutes=50,
                modality=modality,
                frequency=frequency,
                count=count,
                allow_overlap=True,
            )
        slots = bookable_slots(sofia, today=today)
        if slots:  # a couple of days ahead: on the calendar's coming days, far from expiring
            soon = timezone.now() + timedelta(days=2)
            wanted = next((slot for slot in slots if slot >= soon), slots[-1])
            booking_request_create(relationship=sofia, actor=sofia.client.account, starts_at=wanted)

    def _documents(self, relationship: Any, therapist: User, child: Any) -> None:
        """Maya's intake (signed, reviewed) and PHQ-9 / GAD-7 every two weeks, the latest
        not yet reviewed; a consent form waiting for her, and a GAD-7 for Ava's guardian."""
        library = {version.template.library_key: version for version in sync_library()}
        client = relationship.client.account

        def answers(items: int, total: int) -> dict[str, str]:
            """Item answers (0–3) adding up to `total`, item 9 of the PHQ-9 left at 0."""
            values = [0] * items
            for index in range(total):
                values[index % (items - 1 if items == 9 else items)] += 1
            return {f"q{n}": str(value) for n, value in enumerate(values, 1)}

        def complete(key: str, days_ago: int, values: dict[str, str], **sign: Any) -> None:
            (document,) = document_services.document_assign(
                relationship=relationship, versions=[library[key]], due_date=None, actor=therapist
            )
            document_services.document_submit(
                document=document, actor=client, answers=values, **sign
            )
            when = timezone.now() - timedelta(days=days_ago)
            AssignedDocument.objects.filter(pk=document.pk).update(
                assigned_at=when - timedelta(days=1), submitted_at=when
            )
            if days_ago > 3:
                document_services.document_mark_reviewed(document=document, actor=therapist)

        intake = {
            "date_of_birth": "1991-06-14",
            "address": "12 Elm Street, Springfield",
            "phone": "+1 617 555 0134",
            "reason": "Constant worry about work and my health, and I can't sleep.",
            "previous_therapy": "yes",
            "sleep": "2",
            "safety_thoughts": "no",
            "safety_attempt": "no",
            "safety_others": "no",
            "emergency_contact": "Raj Patel, +1 617 555 0199",
        }
        complete("intake", 45, intake, typed_name="Maya Patel", consent=True)
        for days_ago, phq9, gad7 in ((42, 16, 15), (28, 13, 12), (14, 10, 9), (2, 8, 7)):
            complete("phq9", days_ago, answers(9, phq9))
            complete("gad7", days_ago, answers(7, gad7))
        document_services.document_assign(
            relationship=relationship,
            versions=[library["consent"]],
            due_date=timezone.localdate() + timedelta(days=7),
            actor=therapist,
        )
        child.refresh_from_db()
        document_services.document_assign(
            relationship=child, versions=[library["gad7"]], due_date=None, actor=therapist
        )
        # Measurement-based care: the PHQ-9 comes back to Maya every two weeks by itself.
        questionnaire_schedule_create(
            relationship=relationship,
            template=library["phq9"].template,
            cadence="weeks",
            every_weeks=2,
            actor=therapist,
        )

    def _flagged_answer(self, relationship: Any, therapist: User) -> None:
        """Daniel's PHQ-9 from last night, item 9 above 0: he saw the crisis page at once; the
        therapist has the alert on the home page with its "Followed up" action."""
        library = {version.template.library_key: version for version in sync_library()}
        (document,) = document_services.document_assign(
            relationship=relationship, versions=[library["phq9"]], due_date=None, actor=therapist
        )
        values = {f"q{n}": "2" for n in range(1, 9)} | {"q9": "1"}
        document_services.document_submit(
            document=document, actor=relationship.client.account, answers=values
        )

    def _messages(self, maya: Any, ava: Any, therapist: User) -> None:
        """A short conversation with Maya (her last message still unread) and a reminder to
        Ava's guardian that he hasn't opened yet."""
        now = timezone.now()
        client = maya.client.account

        def message(relationship: Any, sender: User, text: str, ago: timedelta) -> Message:
            sent = messaging_services.message_send(
                relationship=relationship, actor=sender, text=text
            )
            Message.objects.filter(pk=sent.pk).update(created_at=now - ago)
            return sent

        message(
            maya,
            client,
            "Hi Dr. Rivera, I did the worry-time exercise every evening this week. It helped "
            "on most days, but Sunday was hard.",
            timedelta(days=3, hours=5),
        )
        messaging_services.message_mark_read(relationship=maya, actor=therapist)
        message(
            maya,
            therapist,
            "Thank you for letting me know, Maya. That is real progress. Let's look at what "
            "made Sunday harder when we meet on Thursday.",
            timedelta(days=3, hours=2),
        )
        messaging_services.message_mark_read(relationship=maya, actor=client)
        message(
            maya,
            client,
            "Sounds good. Is it all right if I bring my sleep diary?",
            timedelta(hours=20),
        )
        message(
            ava,
            therapist,
            "Hi Sam, a reminder that Ava's next session is on Tuesday at 4pm. The session "
            "guide is at https://example.org/caseload/session-guide if you'd like to read it "
            "together beforehand.",
            timedelta(days=1, hours=2),
        )
