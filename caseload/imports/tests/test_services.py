"""Client import services: reading the file, mapping, checking rows and running the import."""

from __future__ import annotations

from datetime import date

import pytest

from caseload.audit.models import AuditEvent
from caseload.clients.models import CareRelationship, Client, Guardianship, Invitation
from caseload.imports import services
from caseload.imports.models import ClientImport, ImportRow, ImportStatus, RowOutcome
from caseload.imports.parsing import MAX_ROWS, ImportFileError, auto_mapping, read_csv
from tests.factories import pending_relationship, staff

pytestmark = pytest.mark.django_db

HEADER = "First name,Last name,Email,Phone,Date of birth,Billing type\n"


def upload(therapist, text, *, actor=None, encoding="utf-8"):
    return services.import_create(
        actor=actor or therapist,
        therapist=therapist,
        file_name="clients.csv",
        data=text.encode(encoding),
    )


def run(client_import, *, send_invitations=True, confirmed=()):
    services.import_start(
        client_import=client_import,
        send_invitations=send_invitations,
        confirmed_rows=list(confirmed),
        actor=client_import.created_by,
    )
    return services.import_run(client_import_id=client_import.pk)


def outcomes(client_import):
    return {row.row_number: (row.outcome, row.message) for row in client_import.rows.all()}


# Reading the file ---------------------------------------------------------------------
def test_bom_and_semicolons_are_read():
    parsed = read_csv("\ufeffName;E-mail;DOB\nLena Ortiz;lena@example.com;1990-04-02\n".encode())
    assert parsed.delimiter == ";"
    assert parsed.headers == ["Name", "E-mail", "DOB"]
    assert parsed.rows == [(2, ["Lena Ortiz", "lena@example.com", "1990-04-02"])]
    assert auto_mapping(parsed.headers) == ["full_name", "email", "date_of_birth"]


def test_control_characters_and_bidi_overrides_are_taken_out_of_cells():
    parsed = read_csv("Name,Email\nLena \u202eOrtiz\x07,lena@example.com\n".encode())

    assert parsed.rows == [(2, ["Lena Ortiz", "lena@example.com"])]


def test_common_headers_are_mapped_automatically():
    headers = [
        "First Name",
        "Surname",
        "Email Address",
        "Mobile",
        "Birth date",
        "Billing",
        "Child's name",
        "Guardian's name",
        "Parent email",
        "Relationship to child",
        "Emergency contact",
        "Emergency contact phone",
        "Notes",
        "email",  # a second email column is left unmapped
    ]
    assert auto_mapping(headers) == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "date_of_birth",
        "billing_type",
        "child_name",
        "guardian_name",
        "guardian_email",
        "guardian_relationship",
        "emergency_name",
        "emergency_phone",
        "",
        "",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"Name,Email\n", "no clients"),
        ("Name,Email\nJos\xe9,j@example.com\n".encode("latin-1"), "UTF-8"),
        (b"Name,Email\n\x00\x00,x\n", "isn't a CSV"),
        (b"x" * (5 * 1024 * 1024 + 1), "larger than 5 MB"),
        (b'Name,Email\n"unclosed,x\n', "valid CSV"),
    ],
)
def test_unreadable_files_say_why(data, message):
    with pytest.raises(ImportFileError, match=message):
        read_csv(data)


def test_more_than_the_row_limit_is_refused():
    rows = "".join(f"C{i},c{i}@example.com\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(ImportFileError, match="more than 5,000"):
        read_csv(f"Name,Email\n{rows}".encode())
    exactly = "".join(f"C{i},c{i}@example.com\n" for i in range(MAX_ROWS))
    assert len(read_csv(f"Name,Email\n{exactly}".encode()).rows) == MAX_ROWS


def test_mapping_needs_a_name_and_an_email_and_each_field_once(therapist):
    client_import = upload(therapist, "A,B,C\nx,y,z\n")
    assert client_import.mapping == ["", "", ""]
    with pytest.raises(services.ImportServiceError, match="name"):
        services.import_set_mapping(
            client_import=client_import, mapping=["email", "", ""], actor=therapist
        )
    with pytest.raises(services.ImportServiceError, match="email"):
        services.import_set_mapping(
            client_import=client_import, mapping=["full_name", "", ""], actor=therapist
        )
    with pytest.raises(services.ImportServiceError, match="one column only: Email"):
        services.import_set_mapping(
            client_import=client_import, mapping=["full_name", "email", "email"], actor=therapist
        )
    services.import_set_mapping(
        client_import=client_import, mapping=["full_name", "email", ""], actor=therapist
    )
    assert ClientImport.objects.get().mapping == ["full_name", "email", ""]


# Checking rows ------------------------------------------------------------------------
def test_a_mapping_from_an_older_page_cannot_change_a_started_import(therapist):
    client_import = upload(therapist, HEADER + "Lena,Ortiz,lena@example.com,,,Cash Pay\n")
    stale = ClientImport.objects.get(pk=client_import.pk)
    services.import_start(
        client_import=client_import, send_invitations=False, confirmed_rows=[], actor=therapist
    )
    before = ClientImport.objects.get(pk=client_import.pk).mapping
    with pytest.raises(services.ImportServiceError, match="already started"):
        services.import_set_mapping(
            client_import=stale,
            mapping=["full_name", "", "email", "", "", ""],
            actor=therapist,
        )
    assert ClientImport.objects.get(pk=client_import.pk).mapping == before


def test_bad_rows_and_duplicates_are_shown_before_anything_is_created(therapist, colleague):
    pending_relationship(colleague, full_name="Maya Patel", email="MAYA@example.com")
    existing = pending_relationship(colleague, full_name="Ben Carter", email="ben.c@example.com")
    existing.date_of_birth = date(1980, 5, 17)
    existing.save()
    text = HEADER + (
        "Lena,Ortiz,lena@example.com,(415) 555-0100,1990-04-02,Insurance\n"  # 2 ready
        ",,nobody@example.com,,,Cash Pay\n"  # 3 no name
        "Tom,Hale,not-an-email,,,Cash Pay\n"  # 4 bad email
        "Ann,Lee,ann@example.com,12,,Cash Pay\n"  # 5 bad phone
        "Jo,Kim,jo@example.com,,2999-01-01,Cash Pay\n"  # 6 future birth date
        "Max,Roe,max@example.com,,,Barter\n"  # 7 unknown billing type
        "Maya,Patel,maya@example.com,,,Cash Pay\n"  # 8 email already in the practice
        "Lena,Ortiz,LENA@example.com,,,Cash Pay\n"  # 9 same email earlier in the file
        "Ben,Carter,ben@example.com,,1980-05-17,Cash Pay\n"  # 10 same name and birth date
    )
    client_import = upload(therapist, text)
    planned = {row.number: row for row in services.plan_rows(client_import)}

    assert planned[2].status == "ready"
    assert planned[3].status == "error" and "Full name" in planned[3].message
    assert planned[4].status == "error" and "Email: Enter a valid email" in planned[4].message
    assert planned[5].status == "error" and "Phone" in planned[5].message
    assert planned[6].status == "error" and "future" in planned[6].message
    assert planned[7].status == "error" and "Billing type" in planned[7].message
    assert planned[8].status == "duplicate" and "already in the practice" in planned[8].message
    assert planned[9].status == "duplicate" and "earlier row" in planned[9].message
    assert planned[10].status == "possible"
    assert Client.objects.count() == 2


def test_import_creates_clients_with_details_and_reports_each_row(therapist):
    text = HEADER.replace("\n", ",Emergency contact,Emergency contact phone\n") + (
        "Lena,Ortiz,lena@example.com,(415) 555-0100,04/02/1990,Insurance,Rob Ortiz,415 555 0101\n"
        "Tom,Hale,not-an-email,,,Cash Pay,,\n"
        "Sara,Fox,sara@example.com,,,cash,,\n"
    )
    client_import = upload(therapist, text)
    done = run(client_import)

    assert done.status == ImportStatus.DONE
    assert done.content == ""  # the file's text isn't kept
    assert services.outcome_counts(done) == {"created": 2, "skipped": 0, "failed": 1}
    lena = CareRelationship.objects.get(client__email="lena@example.com")
    assert lena.therapist == therapist
    assert lena.phone == "+1 415-555-0100"
    assert lena.date_of_birth == date(1990, 4, 2)
    assert lena.billing_type == "insurance"
    assert lena.emergency_name == "Rob Ortiz"
    assert CareRelationship.objects.get(client__email="sara@example.com").billing_type == "cash_pay"
    assert Invitation.objects.filter(relationship=lena).count() == 1
    report = services.report_csv(done).splitlines()
    assert report[0] == "Row,Name,Email,Outcome,Details"
    assert report[1] == "2,Lena Ortiz,lena@example.com,Created,"
    assert report[2].startswith("3,Tom Hale,not-an-email,Failed,Email: Enter a valid email")
    event = AuditEvent.objects.get(action="clients.import")
    assert event.actor == therapist
    assert event.detail == {"rows": 3, "created": 2, "skipped": 0, "failed": 1}


def test_child_rows_reach_the_guardian(therapist):
    text = (
        "Child's name,Guardian's name,Guardian's email,Relationship to child,Billing type\n"
        "Theo Brandt,Mara Brandt,mara@example.com,Mother,Cash Pay\n"
        "Ivy Brandt,Mara Brandt,mara@example.com,Parent,Cash Pay\n"
        "Noa Brandt,Mara Brandt,,Parent,Cash Pay\n"
    )
    done = run(upload(therapist, text))

    assert services.outcome_counts(done) == {"created": 2, "skipped": 0, "failed": 1}
    theo = Guardianship.objects.get(child__full_name="Theo Brandt")
    assert (theo.full_name, theo.email, theo.relationship) == (
        "Mara Brandt",
        "mara@example.com",
        "parent",
    )
    assert theo.child.is_child and theo.child.email is None
    assert set(Invitation.objects.values_list("email", flat=True)) == {"mara@example.com"}
    assert "Guardian's email" in outcomes(done)[4][1]


def test_reuploading_the_same_file_creates_nothing_twice(therapist):
    text = (
        HEADER + "Lena,Ortiz,lena@example.com,,,Insurance\nSara,Fox,sara@example.com,,,Cash Pay\n"
    )
    first = run(upload(therapist, text))
    assert services.outcome_counts(first)["created"] == 2

    second = upload(therapist, text)
    assert services.previous_import(second) == first
    planned = services.plan_rows(second)
    assert [row.status for row in planned] == ["imported", "imported"]
    second = run(second)
    assert outcomes(second) == {
        2: ("skipped", "Already imported."),
        3: ("skipped", "Already imported."),
    }
    assert Client.objects.count() == 2
    assert CareRelationship.objects.count() == 2


def test_a_rerun_after_a_crash_continues_where_it_stopped(therapist):
    text = (
        HEADER + "Lena,Ortiz,lena@example.com,,,Insurance\nSara,Fox,sara@example.com,,,Cash Pay\n"
    )
    client_import = upload(therapist, text)
    services.import_start(
        client_import=client_import, send_invitations=True, confirmed_rows=[], actor=therapist
    )
    client_import.refresh_from_db()
    services.import_row(client_import, services.plan_rows(client_import)[0])  # then it died

    done = services.import_run(client_import_id=client_import.pk)

    assert services.outcome_counts(done) == {"created": 2, "skipped": 0, "failed": 0}
    assert CareRelationship.objects.count() == 2


def test_each_row_is_all_or_nothing(therapist, colleague):
    """A row whose outcome can't be recorded leaves no client behind."""
    text = HEADER + "Lena,Ortiz,lena@example.com,,,Insurance\n"
    client_import = upload(therapist, text)
    client_import.status = ImportStatus.RUNNING
    client_import.save()
    row = services.plan_rows(client_import)[0]
    # Meanwhile another import of the practice created this very client's row key.
    other = upload(colleague, text)
    ImportRow.objects.create(
        client_import=other,
        practice=other.practice,
        row_number=2,
        outcome=RowOutcome.CREATED,
        key=row.key,
    )

    assert services.import_row(client_import, row) == RowOutcome.SKIPPED

    assert not Client.objects.filter(email="lena@example.com").exists()
    assert not CareRelationship.objects.exists()
    assert not Invitation.objects.exists()
    assert outcomes(client_import) == {2: ("skipped", "Already imported.")}


def test_a_staff_address_fails_through_the_client_add_rule(therapist, colleague):
    text = HEADER + "Bob,Lee,bob@example.com,,,Insurance\n"
    done = run(upload(therapist, text))
    assert outcomes(done)[2][0] == "failed"
    assert "staff account" in outcomes(done)[2][1]


def test_possible_duplicates_are_imported_only_when_confirmed(therapist, colleague):
    existing = pending_relationship(colleague, full_name="Ben Carter", email="ben.c@example.com")
    existing.date_of_birth = date(1980, 5, 17)
    existing.save()
    text = HEADER + (
        "Ben,Carter,ben@example.com,,1980-05-17,Cash Pay\n"
        "Ben,Carter,ben2@example.com,,1980-05-17,Cash Pay\n"
    )
    done = run(upload(therapist, text), confirmed=[2])
    assert outcomes(done)[2] == ("created", "")
    assert outcomes(done)[3][0] == "skipped" and "Not confirmed" in outcomes(done)[3][1]


def test_duplicates_are_found_by_the_name_the_practice_knows(therapist, colleague):
    """The client's stored name may be another practice's: the practice's own name counts."""
    existing = pending_relationship(colleague, full_name="Ben Carter", email="ben.c@example.com")
    Client.objects.filter(pk=existing.client_id).update(full_name="Benjamin C.")
    existing.date_of_birth = date(1980, 5, 17)
    existing.save()
    text = HEADER + "Ben,Carter,ben@example.com,,1980-05-17,Cash Pay\n"
    planned = services.plan_rows(upload(therapist, text))
    assert planned[0].status == "possible"


def test_invitations_later_are_sent_on_request(therapist):
    text = HEADER + "Lena,Ortiz,lena@example.com,,,Insurance\n"
    done = run(upload(therapist, text), send_invitations=False)
    from django_tasks_db.models import DBTaskResult

    assert not DBTaskResult.objects.filter(task_path__endswith="send_invitation_email").exists()
    assert Invitation.objects.get().email == "lena@example.com"

    sent = services.import_send_invitations(client_import=done, actor=therapist)

    assert sent == 1
    assert DBTaskResult.objects.filter(task_path__endswith="send_invitation_email").count() == 1
    with pytest.raises(services.ImportServiceError):
        services.import_send_invitations(client_import=done, actor=therapist)


def test_an_admin_imports_for_a_clinician_and_is_the_audited_actor(therapist, practice_admin):
    text = HEADER + "Lena,Ortiz,lena@example.com,,,Insurance\n"
    done = run(upload(therapist, text, actor=practice_admin))
    relationship = CareRelationship.objects.get()
    assert relationship.therapist == therapist
    add = AuditEvent.objects.get(action="client.add")
    assert add.actor == practice_admin
    assert AuditEvent.objects.get(action="clients.import").actor == practice_admin
    assert done.created_by == practice_admin


def test_only_therapists_and_admins_import(therapist, supervisor, outsider, practice_admin):
    with pytest.raises(services.ImportServiceError):
        upload(supervisor, HEADER + "A,B,a@example.com,,,\n")
    with pytest.raises(services.ImportServiceError):
        upload(outsider, HEADER + "A,B,a@example.com,,,\n", actor=practice_admin)
    with pytest.raises(services.ImportServiceError):
        upload(therapist, HEADER + "A,B,a@example.com,,,\n", actor=staff_in(therapist))


def staff_in(therapist):
    return staff(therapist.membership.practice, "therapist", email="dan@example.com")


def test_report_cells_never_run_as_formulas(therapist):
    text = "Name,Email\n=HYPERLINK(1),x@example.com\n"
    client_import = upload(therapist, text)
    done = run(client_import)
    assert "'=HYPERLINK(1)" in services.report_csv(done)


def test_the_demo_sample_file_maps_itself_and_imports(therapist):
    from pathlib import Path

    from django.conf import settings

    data = (Path(settings.BASE_DIR) / "docs" / "samples" / "clients-import.csv").read_bytes()
    client_import = services.import_create(
        actor=therapist, therapist=therapist, file_name="clients-import.csv", data=data
    )
    assert "" not in client_import.mapping
    done = run(client_import)
    assert services.outcome_counts(done) == {"created": 5, "skipped": 0, "failed": 1}
    assert Guardianship.objects.get().child.full_name == "Leo Haddad"
