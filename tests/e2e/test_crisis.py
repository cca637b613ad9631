"""The crisis response in the browser: a client answers PHQ-9 item 9 above "Not at all" and
sees at once where to turn; the therapist's home page alert closes with "Followed up"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from caseload.documents.library import sync_library
from caseload.documents.models import FlagFollowUp
from caseload.documents.services import document_assign
from tests.e2e.conftest import sign_in

PHQ9_ANSWERS = ["Several days"] * 8 + ["Several days"]  # item 9 answered above 0


def test_a_client_at_risk_sees_the_crisis_text_and_the_therapist_follows_up(
    page: Page,
    new_context: Callable[..., BrowserContext],
    therapist: Any,
    active_client: Any,
    client_user: Any,
) -> None:
    practice = active_client.practice
    practice.phone = "+1 617 555 0100"
    practice.save(update_fields=["phone"])
    phq9 = next(version for version in sync_library() if version.scoring == "phq9")
    document_assign(relationship=active_client, versions=[phq9], due_date=None, actor=therapist)

    client = new_context().new_page()
    sign_in(client, client_user.email)
    client.goto("/portal/documents/")
    client.get_by_role("link", name="PHQ-9 (Patient Health Questionnaire)").click()
    for number, choice in enumerate(PHQ9_ANSWERS, start=1):
        client.get_by_role("group", name=re.compile(rf"^{number}\.")).get_by_label(
            choice, exact=True
        ).check()
    client.get_by_role("button", name="Submit", exact=True).click()

    expect(client).to_have_url(re.compile(r"/portal/documents/[0-9a-f-]+/submitted/$"))
    expect(client.locator("#messages")).to_contain_text("submitted. Thank you.")
    crisis = client.get_by_role("alert").filter(has_text="If you are in danger")
    expect(crisis).to_be_visible()
    expect(crisis).to_contain_text("call or text 988, or call 911 in an emergency")
    expect(crisis).to_contain_text("+1 617 555 0100")
    expect(crisis).to_contain_text("This portal isn't monitored in real time")

    sign_in(page, therapist.email)
    attention = page.get_by_role("region", name="Needs immediate attention")
    expect(attention).to_contain_text("Maya Patel: PHQ-9")
    expect(attention.locator("time")).to_be_visible()
    attention.get_by_label("How you followed up").fill("Phoned Maya; safety plan reviewed.")
    attention.get_by_role("button", name="Followed up").click()
    expect(page.locator("#messages")).to_contain_text("Follow-up recorded")
    expect(attention).to_contain_text("Nothing needs immediate attention.")

    follow_up = FlagFollowUp.objects.get()
    assert follow_up.followed_up_by == therapist
    assert follow_up.note == "Phoned Maya; safety plan reviewed."
