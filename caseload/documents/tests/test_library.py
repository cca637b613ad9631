"""The shipped template library (DOC-1): exact questionnaire wording, and versioned syncing
(at migrate time and by command, never while a page reads the library)."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.models.signals import post_migrate
from django.test.utils import CaptureQueriesContext

from caseload.documents import library as library_module
from caseload.documents.content import verify
from caseload.documents.library import LIBRARY_ORDER, library_files, sync_library
from caseload.documents.models import DocumentTemplate, TemplateVersion
from caseload.documents.selectors import library_and_practice_templates
from caseload.documents.tests.helpers import answers_for, assign_one, fresh, submit

pytestmark = pytest.mark.django_db

PHQ9_ITEMS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
]
GAD7_ITEMS = [
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
]
ANSWER_OPTIONS = [
    {"value": "0", "label": "Not at all"},
    {"value": "1", "label": "Several days"},
    {"value": "2", "label": "More than half the days"},
    {"value": "3", "label": "Nearly every day"},
]
DIFFICULTY = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?"
)
DIFFICULTY_OPTIONS = [
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
]


@pytest.fixture
def editable_library(tmp_path, monkeypatch):
    """A copy of the library files the test may change; the parsed cache is reset around it."""
    copy = tmp_path / "library"
    shutil.copytree(library_module.LIBRARY_DIR, copy)
    monkeypatch.setattr(library_module, "LIBRARY_DIR", copy)
    library_files.cache_clear()
    yield copy
    library_files.cache_clear()


def _items(key):
    return [spec for spec in library_files()[key]["fields"] if spec.get("scored")]


# The wording ------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "labels"), [("phq9", PHQ9_ITEMS), ("gad7", GAD7_ITEMS)])
def test_questionnaire_items_are_the_published_wording(key, labels):
    items = _items(key)

    assert [spec["label"] for spec in items] == labels
    assert [spec["key"] for spec in items] == [f"q{n}" for n in range(1, len(labels) + 1)]
    for spec in items:
        assert spec["type"] == "single_choice"
        assert spec["required"] is True
        assert spec["options"] == ANSWER_OPTIONS


@pytest.mark.parametrize(
    ("key", "title", "intro"),
    [
        (
            "phq9",
            "PHQ-9 (Patient Health Questionnaire)",
            "Over the last 2 weeks, how often have you been bothered by any of the following "
            "problems?",
        ),
        (
            "gad7",
            "GAD-7 (Generalized Anxiety Disorder 7)",
            "Over the last 2 weeks, how often have you been bothered by the following problems?",
        ),
    ],
)
def test_questionnaires_have_the_published_instructions_and_scoring(key, title, intro):
    entry = library_files()[key]

    assert (entry["title"], entry["intro"], entry["kind"]) == (title, intro, "questionnaire")
    assert entry["scoring"] == key


@pytest.mark.parametrize("key", ["phq9", "gad7"])
def test_the_difficulty_question_is_optional_unscored_and_last(key):
    last = library_files()[key]["fields"][-1]

    assert last["label"] == DIFFICULTY
    assert last["scored"] is False
    assert last["required"] is False
    assert [option["label"] for option in last["options"]] == DIFFICULTY_OPTIONS


def test_library_has_the_five_documents_and_which_ones_are_signed():
    entries = library_files()

    assert tuple(entries) == LIBRARY_ORDER == ("intake", "phq9", "gad7", "consent", "privacy")
    kinds = {key: entry["kind"] for key, entry in entries.items()}
    assert kinds == {
        "intake": "form",
        "phq9": "questionnaire",
        "gad7": "questionnaire",
        "consent": "consent",
        "privacy": "consent",
    }
    signatures = {
        key: [spec["type"] for spec in entry["fields"]].count("signature")
        for key, entry in entries.items()
    }
    assert signatures == {"intake": 1, "phq9": 0, "gad7": 0, "consent": 1, "privacy": 1}


def test_intake_asks_about_safety(library):
    keys = {spec["key"] for spec in library["intake"].fields}

    assert {"safety_thoughts", "safety_attempt", "safety_others", "emergency_contact"} <= keys


# Syncing ----------------------------------------------------------------------------------
def test_migrate_recorded_every_file_as_a_library_template_at_version_1(db):
    """The test database was migrated: the library is there without anyone syncing it."""
    versions = [
        TemplateVersion.objects.select_related("template").get(template__library_key=key)
        for key in LIBRARY_ORDER
    ]

    assert [v.template.library_key for v in versions] == list(LIBRARY_ORDER)
    assert [v.number for v in versions] == [1, 1, 1, 1, 1]
    assert all(v.template.practice_id is None for v in versions)
    phq9 = versions[1]
    assert phq9.title == "PHQ-9 (Patient Health Questionnaire)"
    assert phq9.scoring == "phq9"
    assert phq9.fields == library_files()["phq9"]["fields"]


def test_sync_is_idempotent(library, django_assert_num_queries):
    before = list(TemplateVersion.objects.order_by("pk").values_list("pk", flat=True))

    with django_assert_num_queries(1):  # one read, no write, when nothing changed
        again = sync_library()

    assert [v.pk for v in again] == [library[key].pk for key in LIBRARY_ORDER]
    assert list(TemplateVersion.objects.order_by("pk").values_list("pk", flat=True)) == before
    assert DocumentTemplate.objects.count() == 5


def test_a_changed_file_adds_version_2_and_assigned_documents_keep_version_1(
    editable_library, therapist, active_client, client_user
):
    first = {v.template.library_key: v for v in sync_library()}
    kept = assign_one(active_client, first["gad7"])
    gad7 = editable_library / "gad7.toml"
    gad7.write_text(
        gad7.read_text().replace("Trouble relaxing", "Trouble relaxing (revised)"),
        encoding="utf-8",
    )
    library_files.cache_clear()

    second = {v.template.library_key: v for v in sync_library()}

    assert second["gad7"].number == 2
    assert second["gad7"].template_id == first["gad7"].template_id
    assert "Trouble relaxing (revised)" in [spec["label"] for spec in second["gad7"].fields]
    assert all(second[key].pk == first[key].pk for key in LIBRARY_ORDER if key != "gad7")
    assert kept.version.number == 1
    done = submit(fresh(kept), client_user, answers_for("gad7", 6))
    assert done.version_id == first["gad7"].pk
    assert "Trouble relaxing\n" in done.content
    assert "(revised)" not in done.content
    assert verify(fresh(done)).ok
    # Documents assigned from now on get the new version.
    assert assign_one(active_client, second["gad7"]).version.number == 2


def test_a_changed_title_is_shown_on_the_template(editable_library):
    sync_library()
    consent = editable_library / "consent.toml"
    consent.write_text(
        consent.read_text().replace(
            'title = "Informed consent for treatment"', 'title = "Consent to treatment"'
        ),
        encoding="utf-8",
    )
    library_files.cache_clear()

    versions = {v.template.library_key: v for v in sync_library()}

    assert versions["consent"].number == 2
    assert DocumentTemplate.objects.get(library_key="consent").title == "Consent to treatment"


def test_a_library_file_with_a_bad_field_is_refused(editable_library):
    phq9 = editable_library / "phq9.toml"
    phq9.write_text(phq9.read_text() + '\n[[fields]]\nkey = "q1"\nlabel = "Again"\n')
    library_files.cache_clear()

    with pytest.raises(ValidationError, match="used twice"):
        library_files()


def _change_gad7(editable_library):
    gad7 = editable_library / "gad7.toml"
    gad7.write_text(gad7.read_text().replace("Trouble relaxing", "Trouble relaxing (changed)"))
    library_files.cache_clear()


def test_post_migrate_records_a_changed_file_once(editable_library, monkeypatch):
    _change_gad7(editable_library)
    calls = []
    monkeypatch.setattr(
        library_module, "sync_library", lambda using: calls.append(using) or sync_library(using)
    )

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert calls == ["default"]  # for the documents app only, not once per app
    assert TemplateVersion.objects.filter(template__library_key="gad7").count() == 2


def test_post_migrate_for_another_app_or_unapplied_documents_syncs_nothing(
    editable_library, monkeypatch
):
    _change_gad7(editable_library)
    calls = []
    monkeypatch.setattr(library_module, "sync_library", lambda using: calls.append(using))

    clients = global_apps.get_app_config("clients")
    post_migrate.send(
        sender=clients,
        app_config=clients,
        verbosity=0,
        interactive=False,
        using="default",
        apps=global_apps,
    )
    library_module.sync_library_after_migrate(
        global_apps.get_app_config("documents"), apps=Apps(installed_apps=()), using="default"
    )

    assert calls == []


@pytest.mark.parametrize("run", ["first", "second"])
def test_the_library_is_recorded_again_after_a_flush(transactional_db, run):
    """Transactional tests (and the browser tests) flush the database after each test:
    post_migrate records the library again, so the second run finds it too."""
    assert DocumentTemplate.objects.filter(library_key__in=LIBRARY_ORDER).count() == 5


def test_reading_the_library_writes_nothing(editable_library, therapist, active_client, signed_in):
    """A changed file is recorded at the next migrate, not by a page that lists templates."""
    _change_gad7(editable_library)
    browser = signed_in(therapist)
    with CaptureQueriesContext(connection) as reads:
        library_and_practice_templates(therapist)
    with CaptureQueriesContext(connection) as pages:
        assert browser.get("/documents/templates/").status_code == 200
        assert browser.get(f"/clients/{active_client.public_id}/").status_code == 200

    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in reads.captured_queries)
    writes = [
        q["sql"]
        for q in pages.captured_queries
        if "documents_" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert writes == []
    assert TemplateVersion.objects.filter(template__library_key="gad7").count() == 1


def test_management_command_reports_the_versions(db):
    out = StringIO()
    call_command("sync_document_library", stdout=out)
    call_command("sync_document_library", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines == [f"{key}: version 1" for key in LIBRARY_ORDER] * 2
    assert TemplateVersion.objects.count() == 5
