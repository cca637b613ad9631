"""DOC-1 … DOC-4 in the browser: assign intake + PHQ-9, the client fills and signs them in the
portal, the therapist sees the score, marks it reviewed and downloads the PDF."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect
from pypdf import PdfReader

from caseload.documents.content import verify
from caseload.documents.models import AssignedDocument, DocumentStatus
from tests.e2e.conftest import link_path, sign_in

PHQ9_ANSWERS = ["Several days"] * 3 + ["More than half the days"] * 3 + ["Nearly every day"] * 2
# Items 1–8 add up to 3×1 + 3×2 + 2×3 = 15; item 9 "Several days" adds 1 → 16, and flags.


def documents_section(page: Page) -> Any:
    """The Documents tab's section (on the Overview, "Documents" is also the overview card)."""
    return page.get_by_role("region", name="Documents")


def open_tab(page: Page, client_id: Any, tab: str = "") -> None:
    """Open a tab of the client's profile by its URL ("" is the Overview)."""
    page.goto(f"/clients/{client_id}/{tab}/" if tab else f"/clients/{client_id}/")


def answer(page: Page, question: str, choice: str) -> None:
    page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label(
        choice, exact=True
    ).check()


def test_assign_fill_sign_review_and_download(
    page: Page,
    new_context: Callable[..., BrowserContext],
    therapist: Any,
    active_client: Any,
    client_user: Any,
    run_tasks: Any,
) -> None:
    from django.core import mail

    # The therapist assigns the intake form and the PHQ-9 from the profile's Documents tab.
    sign_in(page, therapist.email)
    open_tab(page, active_client.public_id)
    section = documents_section(page)
    whats_next = page.get_by_role("region", name="What's next")
    expect(
        whats_next.get_by_role("listitem").filter(has_text="Assign intake documents")
    ).not_to_contain_text("(done)")
    open_tab(page, active_client.public_id, "documents")
    # Read first: the assign form opens on demand.
    expect(section.get_by_label("Intake form")).to_be_hidden()
    section.get_by_text("Assign documents").click()
    section.get_by_label("Intake form").check()
    section.get_by_label("PHQ-9 (Patient Health Questionnaire)").check()
    section.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Assigned 2 documents")
    expect(section.get_by_role("row", name=re.compile("Intake form"))).to_contain_text("Assigned")
    expect(section.get_by_role("row", name=re.compile("PHQ-9"))).to_contain_text("Assigned")

    # One email, with a link and nothing clinical.
    assert run_tasks() >= 1
    (email,) = [m for m in mail.outbox if client_user.email in m.to]
    assert "PHQ" not in email.body and "Intake" not in email.body
    portal_link = link_path(re.search(r"https?://\S+/portal/documents/", email.body).group(0))

    # The client follows the link, signs in and fills the PHQ-9.
    client = new_context().new_page()
    sign_in(client, client_user.email)
    client.goto(portal_link)
    client.get_by_role("link", name="PHQ-9 (Patient Health Questionnaire)").click()
    for number, choice in enumerate(PHQ9_ANSWERS, start=1):
        client.get_by_role("group", name=re.compile(rf"^{number}\.")).get_by_label(
            choice, exact=True
        ).check()
    # Submitting without item 9 is refused on that question, keeping the other answers.
    client.get_by_role("button", name="Submit", exact=True).click()
    item9 = client.get_by_role("group", name=re.compile(r"^9\."))
    expect(item9).to_contain_text("Answer this question.")
    expect(
        client.get_by_role("group", name=re.compile(r"^1\.")).get_by_label("Several days")
    ).to_be_checked()
    item9.get_by_label("Several days", exact=True).check()
    client.get_by_role("button", name="Submit", exact=True).click()
    expect(client.locator("#messages")).to_contain_text("submitted")
    # Item 9 above "Not at all": where to turn in a crisis, at once.
    expect(client.get_by_role("alert").filter(has_text="If you are in danger")).to_contain_text(
        "call or text 988"
    )
    client.get_by_role("link", name="Back to documents").click()

    # The intake: save progress, come back, finish and sign.
    client.get_by_role("link", name="Intake form").click()
    client.get_by_label(re.compile(r"Date of birth")).fill("1991-06-14")
    client.get_by_label(re.compile(r"Home address")).fill("12 Elm Street")
    client.get_by_role("button", name="Save progress").click()
    expect(client.locator("#messages")).to_contain_text("Your progress is saved")
    client.goto("/portal/")
    expect(client.get_by_role("listitem").filter(has_text="Intake form")).to_contain_text(
        "In progress"
    )
    client.get_by_role("link", name="Intake form").click()
    expect(client.get_by_label(re.compile(r"Home address"))).to_have_value("12 Elm Street")
    client.get_by_label(re.compile(r"Phone number")).fill("+1 617 555 0134")
    client.get_by_label(re.compile(r"What brings you to therapy")).fill("Worry and poor sleep.")
    answer(client, "in therapy or counselling before", "No")
    answer(client, "How well have you been sleeping", "2")
    answer(client, "thoughts of ending your life", "No")
    answer(client, "ever tried to end your life", "No")
    answer(client, "thoughts of harming someone else", "No")
    client.get_by_label(re.compile(r"Emergency contact")).fill("Raj Patel, 555 0199")
    # Signing needs the typed name and the consent box.
    client.get_by_role("button", name="Sign and submit").click()
    expect(client.get_by_label("Type your full name to sign")).to_have_accessible_description(
        re.compile("Type your full name to sign.")
    )
    client.get_by_label("Type your full name to sign").fill("Maya Patel")
    client.get_by_label(re.compile("I agree that typing my name")).check()
    client.get_by_role("button", name="Sign and submit").click()
    expect(client.locator("#messages")).to_contain_text("Intake form signed and submitted")
    # Submitted documents move out of "to complete", into the record of completed ones.
    expect(client.get_by_role("listitem").filter(has_text="Intake form")).to_have_count(0)
    client.get_by_text(re.compile(r"^Completed documents \(2\)")).click()
    expect(client.get_by_role("listitem").filter(has_text="Intake form")).to_contain_text("Signed")

    # Back with the therapist: the score, its severity and the attention flag.
    page.goto("/clients/")
    entry = page.get_by_role("complementary", name="Client list").get_by_role(
        "link", name=re.compile("Maya Patel")
    )
    expect(entry).to_contain_text("Needs immediate attention")
    expect(entry).to_contain_text("2 documents to review")
    open_tab(page, active_client.public_id)
    expect(
        whats_next.get_by_role("listitem").filter(has_text="Assign intake documents")
    ).to_contain_text("(done)")
    open_tab(page, active_client.public_id, "sessions")
    expect(page.locator("#phq9-chart-summary")).to_contain_text("latest 16")
    open_tab(page, active_client.public_id, "documents")
    phq9_row = documents_section(page).get_by_role("row", name=re.compile("PHQ-9"))
    expect(phq9_row).to_contain_text("16")
    expect(phq9_row).to_contain_text("Moderately severe")
    phq9_row.get_by_role("link", name=re.compile("PHQ-9")).click()
    expect(page.get_by_role("heading", name="Score")).to_be_visible()
    expect(page.locator(".score-line")).to_have_text(re.compile(r"16\s+—\s+Moderately severe"))
    expect(page.get_by_role("alert").first).to_contain_text("Needs immediate attention")
    # A flagged answer is followed up before the document can be marked reviewed.
    expect(page.get_by_role("button", name="Mark reviewed")).to_have_count(0)
    page.get_by_label("How you followed up").fill("Phoned Maya; safety plan reviewed.")
    page.get_by_role("button", name="Followed up").click()
    expect(page.get_by_role("region", name="Follow-up")).to_contain_text("Phoned Maya")
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.locator("#messages")).to_contain_text("marked reviewed")
    expect(page.get_by_role("button", name="Mark reviewed")).to_have_count(0)

    # The signed intake: signature block, integrity check and the PDF.
    open_tab(page, active_client.public_id, "documents")
    documents_section(page).get_by_role("link", name="Intake form").click()
    expect(page.get_by_role("region", name="Signature")).to_contain_text(
        "Signed electronically by Maya Patel"
    )
    expect(page.locator(".verification")).to_contain_text("Integrity check passed")
    # WeasyPrint's first PDF in a process loads fonts: allow it more than a page load.
    with page.expect_download(timeout=30_000) as download_info:
        page.get_by_role("link", name="Download PDF").click(timeout=30_000)
    with open(download_info.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
        pdf.seek(0)
        text = " ".join(
            " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.read())).pages
        )
    assert "Intake form" in text and "Maya Patel" in text
    assert "Signed by Maya Patel" in text
    intake = AssignedDocument.objects.get(version__title="Intake form")
    assert intake.status == DocumentStatus.SIGNED
    assert intake.signature.sha256 in text.replace(" ", "")
    assert verify(intake).ok
    phq9 = AssignedDocument.objects.get(version__scoring="phq9")
    assert (phq9.status, phq9.score, phq9.flagged) == (DocumentStatus.REVIEWED, 16, True)


def test_a_form_built_in_the_builder_is_assigned_and_filled(
    page: Page,
    new_context: Callable[..., BrowserContext],
    therapist: Any,
    active_client: Any,
    client_user: Any,
) -> None:
    sign_in(page, therapist.email)
    page.get_by_role("link", name="Documents", exact=True).click()
    page.get_by_role("link", name="Build a form").click()
    page.get_by_label(re.compile("^Title")).fill("Sleep diary")
    first = page.get_by_role("group", name="Question 1")
    first.get_by_label(re.compile("^Question")).fill("What time did you go to bed?")
    # Settings a short text doesn't use are out of the way; a scale shows its own.
    expect(first.get_by_label("Options")).to_be_hidden()
    page.get_by_role("button", name="Add a question").click()
    second = page.get_by_role("group", name="Question 2")
    expect(first.get_by_label(re.compile("^Question"))).to_have_value(
        "What time did you go to bed?"
    )
    second.get_by_label(re.compile("^Question")).fill("How rested do you feel?")
    second.get_by_label(re.compile("^Type")).select_option(label="Scale")
    expect(second.get_by_label("Label of the lowest")).to_be_visible()
    second.get_by_label("Label of the lowest").fill("Exhausted")
    second.get_by_label("Label of the highest").fill("Fully rested")
    page.get_by_role("button", name="Add a question").click()
    third = page.get_by_role("group", name="Question 3")
    third.get_by_label(re.compile("^Question")).fill("What helped?")
    third.get_by_label(re.compile("^Type")).select_option(label="Multiple choice")
    page.get_by_role("button", name="Save form").click()
    # A choice without options is refused on that question's Options field.
    expect(
        page.get_by_role("group", name="Question 3").get_by_label("Options")
    ).to_have_accessible_description(re.compile("Give at least two options"))
    page.get_by_role("group", name="Question 3").get_by_label("Options").fill(
        "Reading\nNo screens\nExercise"
    )
    page.get_by_role("button", name="Save form").click()
    expect(page.locator("#messages")).to_contain_text("Sleep diary saved")
    expect(page.get_by_role("heading", name="Sleep diary")).to_be_visible()
    expect(page.get_by_role("group", name=re.compile("How rested do you feel"))).to_contain_text(
        "Exhausted"
    )

    open_tab(page, active_client.public_id, "documents")
    documents_section(page).get_by_text("Assign documents").click()
    documents_section(page).get_by_label("Sleep diary").check()
    documents_section(page).get_by_role("button", name="Assign", exact=True).click()
    expect(
        documents_section(page).get_by_role("row", name=re.compile("Sleep diary"))
    ).to_contain_text("Assigned")

    client = new_context().new_page()
    sign_in(client, client_user.email)
    client.get_by_role("link", name="Sleep diary").click()
    client.get_by_label(re.compile("What time did you go to bed")).fill("23:15")
    answer(client, "How rested do you feel", "4")
    answer(client, "What helped", "No screens")
    answer(client, "What helped", "Exercise")
    client.get_by_role("button", name="Submit", exact=True).click()
    expect(client.locator("#messages")).to_contain_text("Sleep diary submitted")

    page.reload()
    documents_section(page).get_by_role("link", name="Sleep diary").click()
    answers = page.locator("dl.answers")
    expect(answers).to_contain_text("23:15")
    expect(answers).to_contain_text("4 (of 1–5)")
    expect(answers).to_contain_text("No screens, Exercise")
