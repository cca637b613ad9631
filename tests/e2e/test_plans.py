"""TP-1 … TP-6 in the browser: generate a plan, edit, version, compare, restore, export."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader

from caseload.clinical import services as clinical_services
from caseload.plans import services
from caseload.plans.models import PlanGeneration, PlanVersion, TreatmentPlan
from tests.e2e.conftest import sign_in

PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _urls_loaded() -> None:
    """Load the URLconf (and with it WeasyPrint, seconds) before the browser's first request.

    The live server shares this process; otherwise its first page eats the short timeouts.
    """
    reverse("plans:new", args=["00000000-0000-0000-0000-000000000000"])


@pytest.fixture
def client_with_record(active_client: Any, run_tasks: Any) -> Any:
    """Maya, active, with recurrent depression (primary), generalised anxiety and a concern."""
    run_tasks()  # her invitation email, sent long ago
    clinical_services.diagnosis_add(
        relationship=active_client, code="F33.1", actor=active_client.therapist
    )
    clinical_services.diagnosis_add(
        relationship=active_client, code="F41.1", actor=active_client.therapist
    )
    clinical_services.clinical_summary_update(
        relationship=active_client,
        presenting_concerns="Low mood and constant worry since losing her job in the spring.",
        mental_health_history="One earlier depressive episode, treated with CBT.",
        actor=active_client.therapist,
    )
    return active_client


def open_profile(page: Page, relationship: Any) -> Locator:
    """The client's Treatment Plans tab (the Overview's card is also a region of that name)."""
    page.goto(f"/clients/{relationship.public_id}/plans/")
    page.wait_for_load_state()  # htmx is set up (deferred scripts ran)
    return page.get_by_role("region", name="Treatment Plans")


def plan_editor(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Plan", exact=True)


def toolbar(page: Page) -> Locator:
    return page.get_by_role("toolbar", name="Formatting")


def version_line(page: Page) -> Locator:
    return page.locator(".version-line")


def test_generated_plan_is_edited_versioned_compared_restored_and_exported(
    page: Page, therapist: Any, client_with_record: Any, run_tasks: Any
) -> None:
    relationship = client_with_record
    sign_in(page, therapist.email)
    plans = open_profile(page, relationship)

    # Create Treatment Plan offers a choice; Generate with AI: three clearly grouped choices,
    # each explained.
    plans.get_by_role("link", name="Create Treatment Plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create Treatment Plan")
    generate = page.get_by_role("region", name="Generate with AI")
    length = generate.get_by_role("group", name="Length")
    expect(length.get_by_role("radio", name="Medium")).to_be_checked()  # the defaults
    expect(length.get_by_role("radio", name="Long")).to_have_accessible_description(
        re.compile("rationale")
    )
    length.get_by_role("radio", name="Long").check()
    generate.get_by_role("group", name="Tone").get_by_role("radio", name="Conversational").check()
    generate.get_by_role("group", name="Format").get_by_role("radio", name="Bullet Points").check()
    generate.get_by_role("button", name="Generate draft").click()

    # The draft is being made in the background: the page says so, and keeps asking.
    expect(page).to_have_url(re.compile(r"/plans/drafts/[0-9a-f-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Drafting a treatment plan")
    expect(page.get_by_text("Long · Conversational · Bullet Points")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Drafting the plan")).to_be_visible()
    expect(page.get_by_text("Waiting for the generator…")).to_be_visible()
    assert not TreatmentPlan.objects.exists()
    assert run_tasks() == 1

    # Ready: the browser moves on to the editor by itself, with the draft in it.
    expect(page).to_have_url(re.compile(r"/plans/new/\?draft=[0-9a-f-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create Treatment Plan")
    expect(page.get_by_text("Generated draft")).to_be_visible()
    editor = plan_editor(page)
    expect(editor).to_contain_text("You will")
    expect(editor.get_by_role("listitem").first).to_be_visible()
    assert editor.get_by_role("listitem").count() > 20  # Long, bullets
    expect(editor).to_contain_text("Behavioural activation")  # F33.1's first-line treatment
    expect(editor).to_contain_text("F41.1")
    assert not TreatmentPlan.objects.exists()  # nothing is saved until the therapist saves

    # Type a sentence at the end, then make one word bold from the toolbar, by keyboard.
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # out of the last list, into a paragraph
    page.keyboard.type("We will review this plan together every month")
    page.keyboard.press("Control+Shift+ArrowLeft")  # select "month"
    page.keyboard.press("Alt+F10")
    tools = toolbar(page)
    expect(tools.get_by_role("button", name="Heading", exact=True)).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    bold = tools.get_by_role("button", name="Bold")
    expect(bold).to_be_focused()
    expect(bold).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Enter")
    expect(editor).to_be_focused()  # back to the text after formatting
    expect(editor.locator("b, strong").filter(has_text=re.compile("^month$"))).to_be_visible()
    expect(bold).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Save", exact=True).click()

    # Version 1, generated with its options, the edit kept.
    expect(page.get_by_role("heading", level=1)).to_have_text("Treatment plan")
    expect(page.get_by_role("status").first).to_contain_text("saved as version 1")
    expect(version_line(page)).to_contain_text("Version 1")
    expect(version_line(page)).to_contain_text("Long · Conversational · Bullet Points")
    body = page.get_by_role("article", name="Plan, version 1")
    expect(body.locator("b, strong").filter(has_text=re.compile("^month$"))).to_be_visible()
    expect(body).to_contain_text("Behavioural activation")

    # Edit again and change that line: version 2.
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Treatment plan")
    editor = plan_editor(page)
    line = editor.locator("p").filter(has_text="We will review this plan together")
    line.click(click_count=3)  # the whole paragraph
    page.keyboard.type("We will review this plan together every two weeks.")
    expect(editor).to_contain_text("every two weeks.")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved as version 2.")
    expect(version_line(page)).to_contain_text("Version 2")

    # Compare 1 → 2 (the preselected pair): the changed line, removed and added.
    versions = page.get_by_role("table", name=re.compile("Saved versions"))
    expect(versions.get_by_role("radio", name="Compare from version 1")).to_be_checked()
    expect(versions.get_by_role("radio", name="Compare to version 2")).to_be_checked()
    page.get_by_role("button", name="Compare versions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Version 1 → version 2")
    expect(page.get_by_text("1 line added, 1 line removed.")).to_be_visible()
    folded = page.get_by_text(re.compile(r"^\d+ unchanged lines$"))  # the rest of the plan
    expect(folded).to_be_visible()
    expect(page.get_by_text("How we will work (interventions)")).to_be_hidden()
    folded.click()
    expect(page.get_by_text("How we will work (interventions)")).to_be_visible()
    expect(page.get_by_role("deletion")).to_have_text(
        "Removed: We will review this plan together every month"
    )
    expect(page.get_by_role("insertion")).to_have_text(
        "Added: We will review this plan together every two weeks."
    )
    page.get_by_role("link", name="← Treatment plan").click()

    # Restore version 1: a new version 3 with the original text; history is kept.
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_role("status").first).to_contain_text("Version 1 restored as version 3.")
    expect(version_line(page)).to_contain_text("Version 3")
    expect(version_line(page)).to_contain_text("Restored from version 1")
    body = page.get_by_role("article", name="Plan, version 3")
    expect(body).to_contain_text("We will review this plan together every month")
    expect(body).not_to_contain_text("every two weeks")
    expect(versions.get_by_role("row")).to_have_count(4)  # heading row and three versions

    # On a phone the versions table reads as cards, without sideways scrolling.
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    version_1 = versions.get_by_role("row", name=re.compile(r"^Version 1\b"))
    version_1.scroll_into_view_if_needed()
    expect(version_1.get_by_role("button", name="Restore version 1")).to_be_visible()
    box = version_1.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]

    # The PDF of version 3: the client, the version and the diagnoses.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == "treatment-plan-v3.pdf"
    with open(download.path(), "rb") as pdf:
        reader = PdfReader(io.BytesIO(pdf.read()))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Maya Patel" in text
    assert "Version 3" in text
    assert "F33.1" in text and "F41.1" in text
    assert "We will review this plan together every month" in " ".join(text.split())

    plan = TreatmentPlan.objects.get()
    assert list(plan.versions.order_by("number").values_list("number", "source")) == [
        (1, "generated"),
        (2, "manual"),
        (3, "restored"),
    ]
    first = plan.versions.get(number=1)
    assert first.options == {
        "length": "long",
        "tone": "conversational",
        "format": "bullet_points",
        "generator": "knowledge_base",
    }
    assert PlanGeneration.objects.get().status == "done"


def test_plan_written_by_hand_marks_whats_next_done_and_shows_its_expiry(
    page: Page, therapist: Any, active_client: Any
) -> None:
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/")  # What's next is on the Overview
    whats_next = page.get_by_role("region", name="What's next")
    step = whats_next.get_by_role("listitem").filter(has_text="Set up a treatment plan")
    expect(step).not_to_contain_text("(done)")
    plans = open_profile(page, active_client)
    expect(plans).to_contain_text("No treatment plan yet.")

    plans.get_by_role("link", name="Create Treatment Plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create Treatment Plan")
    page.get_by_role("region", name="Write it myself").get_by_role(
        "link", name="Write it myself"
    ).click()
    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/plans/new/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create Treatment Plan")
    editor = plan_editor(page)
    expect(editor).to_be_visible()
    expect(editor).to_be_empty()

    # Saving nothing is refused on the field, which gets focus back.
    page.get_by_role("button", name="Save", exact=True).click()
    editor = plan_editor(page)
    expect(editor).to_be_focused()
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(editor).to_have_accessible_description(re.compile("Write the plan before saving it."))
    assert not TreatmentPlan.objects.exists()

    # A heading and a bulleted list, from the toolbar with the mouse.
    page.get_by_label("Title").fill("Plan for anxiety")
    editor.click()
    page.keyboard.type("Problems")
    toolbar(page).get_by_role("button", name="Heading", exact=True).click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    toolbar(page).get_by_role("button", name="Bulleted list").click()
    page.keyboard.type("Worry most days about work")
    page.keyboard.press("Enter")
    page.keyboard.type("Poor sleep")
    expect(editor.get_by_role("heading", name="Problems")).to_be_visible()
    expect(editor.get_by_role("listitem")).to_have_count(2)

    # A review date ten days on: the plan is flagged as expiring.
    today = timezone.localdate()
    page.get_by_label("Effective date").fill((today - timedelta(days=80)).isoformat())
    page.get_by_label("Review by").fill((today + timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Plan for anxiety")
    expect(version_line(page)).to_contain_text("Version 1")
    expect(version_line(page)).to_contain_text("Written")
    expect(page.locator(".plan-alert")).to_contain_text("Expires within 14 days")
    body = page.get_by_role("article", name="Plan, version 1")
    expect(body.get_by_role("heading", name="Problems")).to_be_visible()
    expect(body.get_by_role("listitem")).to_have_text(["Worry most days about work", "Poor sleep"])
    # A single version: nothing to compare yet.
    expect(page.get_by_role("button", name="Compare versions")).to_have_count(0)

    page.get_by_role("link", name="← Maya Patel").click()
    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/plans/$"))
    plans = page.get_by_role("region", name="Treatment Plans")
    expect(plans.get_by_role("link", name="Plan for anxiety")).to_be_visible()
    expect(plans).to_contain_text("Expires soon")

    page.goto(f"/clients/{active_client.public_id}/")  # What's next is on the Overview
    whats_next = page.get_by_role("region", name="What's next")
    step = whats_next.get_by_role("listitem").filter(has_text="Set up a treatment plan")
    expect(step).to_contain_text("(done)")

    version = PlanVersion.objects.get()
    assert version.source == "manual"
    assert "<h2>Problems</h2>" in version.html
    assert "<li>Poor sleep</li>" in version.html


HOSTILE = (
    "<p>Reduce worry to two hours a day</p>"
    '<img src="x" onerror="window.__pwned = 1; alert(1)">'
    "<script>window.__pwned = 2; alert(2)</script>"
    '<p style="position:fixed;inset:0;background:red" onclick="alert(3)">Practise breathing</p>'
    '<a href="javascript:alert(4)">a link</a>'
    '<svg onload="alert(5)"><circle r="5"></circle></svg>'
    '<iframe src="javascript:alert(6)"></iframe>'
)
BAD_MARKERS = ("<img", "<script", "<svg", "<iframe", "onerror", "onclick", "style=", "javascript:")
NOTHING_KEPT = '<img src="x" onerror="window.__pwned = 3"><script>window.__pwned = 4</script>'


def paste_html(page: Page, html: str) -> None:
    """What a paste from another application delivers to the editor (the HTML flavour)."""
    page.evaluate(
        """(html) => {
            const data = new DataTransfer();
            data.setData("text/html", html);
            data.setData("text/plain", "pasted");
            const editor = document.querySelector("[role=textbox][contenteditable]");
            editor.focus();
            editor.dispatchEvent(new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        html,
    )


def test_hostile_html_pasted_or_posted_never_runs_and_is_saved_clean(
    page: Page, therapist: Any, active_client: Any
) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/plans/new/")
    editor = plan_editor(page)
    expect(editor).to_be_visible()

    # Pasted: only the structure and text reach the editor.
    paste_html(page, HOSTILE)
    expect(editor).to_contain_text("Reduce worry to two hours a day")
    expect(editor).to_contain_text("Practise breathing")
    pasted = editor.inner_html()
    for marker in BAD_MARKERS:
        assert marker not in pasted, marker

    # Posted around the editor (as a crafted request would): a page with only hostile
    # markup is refused, and the editor shown again does not bring it back to life.
    page.evaluate("(html) => { document.getElementById('id_html').value = html; }", NOTHING_KEPT)
    page.get_by_role("button", name="Save", exact=True).click()
    editor = plan_editor(page)
    expect(editor).to_have_accessible_description(re.compile("Write the plan before saving it."))
    assert "<img" not in editor.inner_html()
    assert not TreatmentPlan.objects.exists()

    page.evaluate("(html) => { document.getElementById('id_html').value = html; }", HOSTILE)
    page.get_by_role("button", name="Save", exact=True).click()
    body = page.get_by_role("article", name="Plan, version 1")
    expect(body).to_contain_text("Reduce worry to two hours a day")
    expect(body).to_contain_text("Practise breathing")
    expect(body.get_by_text("a link")).to_be_visible()
    shown = body.inner_html()
    for marker in BAD_MARKERS:
        assert marker not in shown, marker
    body.get_by_text("Practise breathing").click()
    body.get_by_text("a link").click()

    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    stored = PlanVersion.objects.get().html
    assert "<img" not in stored and "<script" not in stored and "alert" not in stored


def test_supervisor_reads_and_compares_a_plan_without_changing_it(
    page: Page, supervisor: Any, therapist: Any, active_client: Any
) -> None:
    plan = services.plan_create(
        relationship=active_client,
        actor=therapist,
        html="<h2>Goals</h2><ul><li>Sleep seven hours</li></ul>",
        effective_date=timezone.localdate(),
    )
    services.plan_save_version(
        plan=plan, actor=therapist, html="<h2>Goals</h2><ul><li>Sleep eight hours</li></ul>"
    )
    sign_in(page, supervisor.email)
    plans = open_profile(page, active_client)
    expect(plans.get_by_role("link", name="Create Treatment Plan")).to_have_count(0)
    expect(plans.get_by_text("Generate with AI")).to_have_count(0)
    plans.get_by_role("link", name="Treatment plan").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Treatment plan")
    expect(version_line(page)).to_contain_text("Version 2")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)
    expect(page.get_by_role("heading", name="Dates")).to_have_count(0)

    page.get_by_role("link", name="Version 1", exact=True).click()
    expect(page.locator(".old-version")).to_contain_text("This is an earlier version.")
    expect(page.get_by_role("article", name="Plan, version 1")).to_contain_text("seven hours")
    page.get_by_role("button", name="Compare versions").click()
    expect(page.get_by_role("deletion")).to_have_text("Removed: • Sleep seven hours")
    expect(page.get_by_role("insertion")).to_have_text("Added: • Sleep eight hours")
    assert plan.versions.count() == 2


def test_an_outside_ai_service_is_sent_only_what_the_therapist_reviewed(
    page: Page, therapist: Any, client_with_record: Any, run_tasks: Any, settings: Any
) -> None:
    import json

    from caseload.plans.tests.test_openai_compatible import FakeAIService

    fake = FakeAIService()
    fake.answer("<h2>Treatment plan</h2><h3>Problems</h3><ul><li>Low mood, by [week 4].</li></ul>")
    server = _serve(fake)
    settings.PLAN_AI_BASE_URL = fake.base_url
    settings.PLAN_AI_MODEL = "test-model"
    relationship = client_with_record
    clinical_services.clinical_summary_update(
        relationship=relationship,
        presenting_concerns="Maya's manager Deb Kowalski at Riverside Diner cut her shifts on "
        "March 3rd. Low mood and constant worry.",
        mental_health_history="Admitted to Mercy General Hospital in 2019.",
        actor=relationship.therapist,
    )
    try:
        sign_in(page, therapist.email)
        page.goto(f"/clients/{relationship.public_id}/plans/create/")
        page.get_by_role("region", name="Generate with AI").get_by_role(
            "button", name="Generate draft"
        ).click()

        # The therapist first sees exactly the text that will leave the practice.
        expect(page.get_by_role("heading", level=1)).to_have_text("Review what will be sent")
        shown = page.get_by_label("Clinical information that will be sent")
        expect(shown).to_contain_text("[client]")
        expect(shown).to_contain_text("Low mood and constant worry.")
        for identifier in ("Maya", "Deb", "Kowalski", "Riverside Diner", "Mercy", "March 3"):
            expect(shown).not_to_contain_text(identifier)
        assert not PlanGeneration.objects.exists() and not fake.requests
        reviewed = shown.inner_text()

        page.get_by_role("button", name="Send to AI service").click()
        expect(page).to_have_url(re.compile(r"/plans/drafts/[0-9a-f-]+/$"))
        assert run_tasks() == 1
        expect(page).to_have_url(re.compile(r"/plans/new/\?draft=[0-9a-f-]+$"))
        expect(plan_editor(page)).to_contain_text("Low mood, by")
        sent = json.loads(fake.requests[-1]["body"])["messages"][1]["content"]
        assert sent.strip() == reviewed.strip()
    finally:
        server.shutdown()
        server.server_close()


def _serve(fake: Any) -> Any:
    """A local OpenAI-compatible service answering `fake`'s prepared plan."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fake.requests.append({"body": self.rfile.read(length)})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return server
