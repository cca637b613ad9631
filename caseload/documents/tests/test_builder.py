"""The template library pages and the form builder (DOC-1): build, validate, version, reorder."""

from __future__ import annotations

import re

import pytest

from caseload.documents import services
from caseload.documents.models import DocumentTemplate, TemplateVersion
from caseload.documents.tests.helpers import assign_one, builder_post, fresh
from tests.factories import staff
from tests.html import field_errors

pytestmark = pytest.mark.django_db

NEW = "/documents/templates/new/"
SEVERAL = [
    {"label": "Bedtime", "type": "short_text", "help": "Roughly"},
    {"label": "How did you sleep?", "type": "long_text", "required": False},
    {"label": "Woke up at night?", "type": "yes_no"},
    {"label": "Caffeine", "type": "multiple_choice", "options": "Coffee\nTea\nEnergy drinks"},
    {"label": "Mood on waking", "type": "scale", "min": "0", "max": "10", "max_label": "Great"},
    {"label": "Hours slept", "type": "number", "min": "0", "max": "24"},
    {"label": "Date", "type": "date"},
    {"label": "Best time", "type": "single_choice", "options": "Morning\nEvening"},
    {"label": "I confirm this is accurate", "type": "signature"},
]


def own_template(therapist, title="Sleep check-in", fields=None):
    return services.template_create(
        practice=therapist.membership.practice,
        actor=therapist,
        title=title,
        intro="",
        fields=fields or [{"type": "short_text", "label": "Bedtime"}],
    )


def questions_in(response):
    return len(
        re.findall(r'<fieldset class="builder-field" id="question-\d+">', response.content.decode())
    )


# Building ----------------------------------------------------------------------------------------
def test_the_builder_starts_with_one_question(therapist, signed_in):
    response = signed_in(therapist).get(NEW)

    assert response.status_code == 200
    assert questions_in(response) == 1
    assert 'name="fields-TOTAL_FORMS"' in response.content.decode()


def test_building_a_form_with_every_field_type(therapist, signed_in):
    response = signed_in(therapist).post(NEW, builder_post(SEVERAL, intro="Fill in each morning."))

    template = DocumentTemplate.objects.get(title="Sleep check-in")
    assert response.status_code == 302
    assert response["Location"] == f"/documents/templates/{template.public_id}/"
    assert template.practice == therapist.membership.practice
    assert template.created_by == therapist
    assert template.library_key is None
    version = template.versions.get()
    assert (version.number, version.intro, version.scoring) == (1, "Fill in each morning.", "")
    assert [(f["key"], f["type"], f["label"]) for f in version.fields] == [
        (f"f{n}", row["type"], row["label"]) for n, row in enumerate(SEVERAL, 1)
    ]
    fields = {f["label"]: f for f in version.fields}
    assert fields["Bedtime"]["help"] == "Roughly"
    assert fields["How did you sleep?"]["required"] is False
    assert [o["label"] for o in fields["Caffeine"]["options"]] == ["Coffee", "Tea", "Energy drinks"]
    assert (fields["Mood on waking"]["min"], fields["Mood on waking"]["max"]) == (0, 10)
    assert fields["Mood on waking"]["max_label"] == "Great"
    assert (fields["Hours slept"]["min"], fields["Hours slept"]["max"]) == (0, 24)
    assert version.requires_signature


def test_the_preview_shows_the_form_as_the_client_will_see_it(therapist, signed_in):
    browser = signed_in(therapist)
    browser.post(NEW, builder_post(SEVERAL))
    template = DocumentTemplate.objects.get(title="Sleep check-in")

    html = browser.get(f"/documents/templates/{template.public_id}/").content.decode()

    assert "Your practice's form · version 1 · preview as the client sees it" in html
    assert "Energy drinks" in html
    assert "I confirm this is accurate" in html
    assert f"/documents/templates/{template.public_id}/edit/" in html


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            {"label": "Pick", "type": "single_choice", "options": "Only"},
            "options",
            "Give at least two options, one per line.",
        ),
        (
            {"label": "Pick", "type": "multiple_choice", "options": "Same\nSame"},
            "options",
            "Each option must be different.",
        ),
        (
            {"label": "Pain", "type": "scale", "min": "5", "max": "5"},
            "min",
            "A scale runs from 0 to 10, lowest first.",
        ),
        (
            {"label": "Pain", "type": "scale", "min": "3", "max": "1"},
            "min",
            "A scale runs from 0 to 10, lowest first.",
        ),
        (
            {"label": "Pain", "type": "scale", "min": "0", "max": "11"},
            "min",
            "A scale runs from 0 to 10, lowest first.",
        ),
        (
            {"label": "Pain", "type": "scale", "min": "", "max": "5"},
            "min",
            "Give the lowest and highest points of the scale.",
        ),
        (
            {"label": "Hours", "type": "number", "min": "10", "max": "2"},
            "min",
            "The lowest value is larger than the highest.",
        ),
        ({"label": ""}, "label", "Write the question, or tick “Remove this question”."),
        (
            {"label": "Upload", "type": "file"},
            "type",
            "Select a valid choice. file is not one of the available choices.",
        ),
    ],
)
def test_each_builder_error_is_shown_on_its_field_and_nothing_is_saved(
    therapist, row, field, message, signed_in
):
    rows = [{"label": "Bedtime"}, row]

    response = signed_in(therapist).post(NEW, builder_post(rows))

    assert response.status_code == 200
    assert field_errors(response, f"fields-1-{field}") == [message]
    assert field_errors(response, "fields-0-label") == []
    assert not DocumentTemplate.objects.filter(practice__isnull=False).exists()


def test_a_title_is_needed(therapist, signed_in):
    response = signed_in(therapist).post(NEW, builder_post([{"label": "Bedtime"}], title=""))

    assert field_errors(response, "title") == ["This field is required."]
    assert not DocumentTemplate.objects.filter(practice__isnull=False).exists()


def test_two_signatures_are_refused_with_a_message(therapist, signed_in):
    rows = [
        {"label": "Bedtime"},
        {"label": "Sign here", "type": "signature"},
        {"label": "And here", "type": "signature"},
    ]

    response = signed_in(therapist).post(NEW, builder_post(rows))

    assert response.status_code == 200
    assert '<p class="error" role="alert">A document has one signature at most.</p>' in (
        response.content.decode()
    )
    assert questions_in(response) == 3  # the rows come back as typed
    assert not DocumentTemplate.objects.filter(practice__isnull=False).exists()


def test_removing_every_question_is_refused(therapist, signed_in):
    response = signed_in(therapist).post(NEW, builder_post([{"label": "Bedtime", "DELETE": "on"}]))

    assert response.status_code == 200
    assert "Please submit at least 1 form." in response.content.decode()
    assert not DocumentTemplate.objects.filter(practice__isnull=False).exists()


# Add, remove, reorder ----------------------------------------------------------------------------
def test_add_a_question_rerenders_with_one_more_row_and_saves_nothing(therapist, signed_in):
    rows = [
        {"label": "Bedtime"},
        {"label": "Caffeine", "type": "multiple_choice", "options": "Tea\nCoffee"},
    ]
    data = builder_post(rows, add_field="1")
    del data["save"]

    response = signed_in(therapist).post(NEW, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert questions_in(response) == 3
    assert 'value="Sleep check-in"' in html  # the title is kept
    assert 'value="Bedtime"' in html and "Tea\nCoffee" in html  # so are the questions
    assert 'name="fields-TOTAL_FORMS" value="3"' in html
    assert not DocumentTemplate.objects.filter(practice__isnull=False).exists()
    assert not TemplateVersion.objects.filter(template__practice__isnull=False).exists()


def test_add_a_question_while_editing_adds_no_version(therapist, signed_in):
    template = own_template(therapist)
    data = builder_post([{"label": "Bedtime"}], initial=1, add_field="1")
    del data["save"]

    response = signed_in(therapist).post(f"/documents/templates/{template.public_id}/edit/", data)

    assert questions_in(response) == 2
    assert template.versions.count() == 1


def test_add_a_question_drops_rows_marked_for_removal(therapist, signed_in):
    rows = [{"label": "Keep"}, {"label": "Drop", "DELETE": "on"}]
    data = builder_post(rows, add_field="1")

    response = signed_in(therapist).post(NEW, data)

    html = response.content.decode()
    assert questions_in(response) == 2
    assert 'value="Keep"' in html
    assert 'value="Drop"' not in html


def test_removing_a_question(therapist, signed_in):
    rows = [{"label": "Bedtime"}, {"label": "Remove me", "DELETE": "on"}, {"label": "Wake time"}]

    signed_in(therapist).post(NEW, builder_post(rows))

    version = TemplateVersion.objects.get(template__title="Sleep check-in")
    assert [f["label"] for f in version.fields] == ["Bedtime", "Wake time"]
    assert [f["key"] for f in version.fields] == ["f1", "f2"]


def test_a_removed_question_need_not_be_valid(therapist, signed_in):
    rows = [{"label": "Bedtime"}, {"label": "", "type": "single_choice", "DELETE": "on"}]

    response = signed_in(therapist).post(NEW, builder_post(rows))

    assert response.status_code == 302
    assert [
        f["label"] for f in TemplateVersion.objects.get(template__practice__isnull=False).fields
    ] == ["Bedtime"]


def test_reordering_questions(therapist, signed_in):
    rows = [
        {"label": "First", "ORDER": "3"},
        {"label": "Second", "ORDER": "1"},
        {"label": "Third", "ORDER": "2"},
    ]

    signed_in(therapist).post(NEW, builder_post(rows))

    version = TemplateVersion.objects.get(template__title="Sleep check-in")
    assert [f["label"] for f in version.fields] == ["Second", "Third", "First"]


# Editing makes versions -------------------------------------------------------------------------
def test_editing_saves_version_2_and_assigned_documents_keep_version_1(
    therapist, active_client, client_user, signed_in
):
    template = own_template(therapist)
    assigned = assign_one(active_client, template.versions.get())
    browser = signed_in(therapist)
    form = browser.get(f"/documents/templates/{template.public_id}/edit/")
    assert 'value="Bedtime"' in form.content.decode()

    response = browser.post(
        f"/documents/templates/{template.public_id}/edit/",
        builder_post(
            [{"label": "Bedtime"}, {"label": "Nap?", "type": "yes_no"}],
            title="Sleep check-in (v2)",
            initial=1,
        ),
    )

    assert response.status_code == 302
    assert list(template.versions.order_by("number").values_list("number", "title")) == [
        (1, "Sleep check-in"),
        (2, "Sleep check-in (v2)"),
    ]
    template.refresh_from_db()
    assert template.title == "Sleep check-in (v2)"
    kept = fresh(assigned)
    assert kept.version.number == 1
    assert [f["label"] for f in kept.version.fields] == ["Bedtime"]
    portal = signed_in(client_user).get(f"/portal/documents/{assigned.public_id}/").content.decode()
    assert "Nap?" not in portal
    detail = browser.get(response["Location"]).content.decode()
    assert "version 2 of 2" in detail
    assert "Sleep check-in (v2) saved as version 2." in detail


def test_saving_an_edit_without_changes_adds_no_version(therapist, signed_in):
    template = own_template(therapist)

    response = signed_in(therapist).post(
        f"/documents/templates/{template.public_id}/edit/",
        builder_post([{"label": "Bedtime"}], initial=1),
    )

    assert response.status_code == 302
    assert template.versions.count() == 1


def test_an_edit_with_errors_saves_nothing(therapist, signed_in):
    template = own_template(therapist)

    response = signed_in(therapist).post(
        f"/documents/templates/{template.public_id}/edit/",
        builder_post([{"label": "Pick", "type": "single_choice", "options": "One"}], initial=1),
    )

    assert field_errors(response, "fields-0-options") == [
        "Give at least two options, one per line."
    ]
    assert template.versions.count() == 1


# Library and other practices ----------------------------------------------------------------------
def test_the_library_lists_shipped_templates_and_the_practices_own(
    therapist, colleague, outsider, library, signed_in
):
    own_template(colleague, title="Bob's form")
    own_template(outsider, title="Elsewhere form")

    html = signed_in(therapist).get("/documents/templates/").content.decode()

    for title in (
        "Intake form",
        "PHQ-9 (Patient Health Questionnaire)",
        "GAD-7 (Generalized Anxiety Disorder 7)",
        "Informed consent for treatment",
        "Acknowledgement of privacy practices",
        "Bob&#x27;s form",
    ):
        assert title in html
    assert "Elsewhere form" not in html


def test_library_templates_are_previewed_but_not_edited(therapist, library, signed_in):
    template = library["phq9"].template
    browser = signed_in(therapist)

    preview = browser.get(f"/documents/templates/{template.public_id}/")
    edit = browser.get(f"/documents/templates/{template.public_id}/edit/")
    post = browser.post(
        f"/documents/templates/{template.public_id}/edit/", builder_post([{"label": "Mine"}])
    )
    archive = browser.post(f"/documents/templates/{template.public_id}/archive/")

    assert preview.status_code == 200
    assert "From the Caseload library" in preview.content.decode()
    assert "/edit/" not in preview.content.decode()
    assert (edit.status_code, post.status_code, archive.status_code) == (404, 404, 404)
    assert template.versions.count() == 1
    assert DocumentTemplate.objects.get(pk=template.pk).archived_at is None


def test_another_practices_template_is_not_found(therapist, outsider, signed_in):
    theirs = own_template(outsider, title="Elsewhere form")
    browser = signed_in(therapist)
    base = f"/documents/templates/{theirs.public_id}/"

    assert browser.get(base).status_code == 404
    assert browser.get(f"{base}edit/").status_code == 404
    assert browser.post(f"{base}edit/", builder_post([{"label": "Mine"}])).status_code == 404
    assert browser.post(f"{base}archive/").status_code == 404
    assert theirs.versions.count() == 1
    assert DocumentTemplate.objects.get(pk=theirs.pk).archived_at is None


def test_another_practices_template_cannot_be_assigned(
    therapist, outsider, active_client, library, signed_in
):
    theirs = own_template(outsider, title="Elsewhere form")

    response = signed_in(therapist).post(
        f"/clients/{active_client.public_id}/documents/assign/",
        {"templates": [str(theirs.public_id)]},
        HTTP_HX_REQUEST="true",
    )

    assert "Select a valid choice." in response.content.decode()
    assert not active_client.documents.exists()


@pytest.mark.parametrize("persona", ["practice_admin", "client_user"])
def test_admins_and_clients_have_no_builder(request, persona, therapist, signed_in):
    template = own_template(therapist)
    browser = signed_in(request.getfixturevalue(persona))

    assert browser.get("/documents/templates/").status_code == 404
    assert browser.get(NEW).status_code == 404
    assert browser.post(NEW, builder_post([{"label": "Mine"}])).status_code == 404
    assert browser.get(f"/documents/templates/{template.public_id}/edit/").status_code == 404
    assert DocumentTemplate.objects.filter(practice__isnull=False).count() == 1


def test_a_supervisor_in_another_practice_sees_nothing(therapist, outsider, signed_in):
    template = own_template(therapist)
    other = staff(outsider.membership.practice, "supervisor", email="sup2@example.com")

    assert signed_in(other).get(f"/documents/templates/{template.public_id}/").status_code == 404


# Archiving ---------------------------------------------------------------------------------------
def test_archiving_hides_the_template_and_keeps_assigned_documents(
    therapist, active_client, signed_in
):
    template = own_template(therapist)
    assigned = assign_one(active_client, template.versions.get())
    browser = signed_in(therapist)

    response = browser.post(f"/documents/templates/{template.public_id}/archive/")

    assert response.status_code == 302
    assert response["Location"] == "/documents/templates/"
    listing = browser.get("/documents/templates/").content.decode()
    assert "Sleep check-in archived. Documents already assigned are not affected." in listing
    assert f"/documents/templates/{template.public_id}/" not in listing
    assert browser.get(f"/documents/templates/{template.public_id}/edit/").status_code == 404
    assert fresh(assigned).version.template_id == template.pk
    profile = browser.get(f"/clients/{active_client.public_id}/").content.decode()
    assert f'value="{template.public_id}"' not in profile  # no longer offered for assigning


def test_add_a_question_stops_at_sixty_and_keeps_every_question(therapist, signed_in):
    rows = [{"label": f"Question {n}"} for n in range(60)]
    data = builder_post(rows, add_field="1")
    del data["save"]

    response = signed_in(therapist).post(NEW, data)

    html = response.content.decode()
    assert questions_in(response) == 60
    assert 'value="Question 59"' in html  # the last one is still there
    assert "A form has 60 questions at most." in html


@pytest.mark.parametrize(("low", "high"), [("2000000", ""), ("", "-2000000"), ("9" * 30, "")])
def test_number_limits_that_no_answer_could_meet_are_refused(therapist, low, high, signed_in):
    rows = [{"label": "Hours slept", "type": "number", "min": low, "max": high}]

    response = signed_in(therapist).post(NEW, builder_post(rows))

    assert response.status_code == 200
    assert not DocumentTemplate.objects.filter(practice__isnull=False).exists()
