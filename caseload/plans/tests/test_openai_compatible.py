"""The OpenAI-compatible provider (TP-3) against a real local HTTP server speaking the protocol.

The server is the only fake: a ThreadingHTTPServer on 127.0.0.1 that records each request and
answers as told (a plan, a delay, broken JSON, an HTTP error). Everything of ours is real.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from caseload.clients import services as client_services
from caseload.clinical import services as clinical_services
from caseload.plans.generators import (
    GenerationError,
    OpenAICompatibleGenerator,
    PlanInput,
    PlanOptions,
    build_plan_input,
    get_generator,
)
from caseload.plans.generators.openai_compatible import build_messages, clean_content
from caseload.visits import services as visit_services

START = date(2026, 11, 13)
PLAN_HTML = "<h2>Treatment plan</h2><h3>Problems</h3><ul><li>Low mood.</li></ul>"


@dataclass
class FakeAIService:
    """What the local server received, and what it answers next."""

    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, content: Any = PLAN_HTML, **choice: Any) -> None:
        self.body = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                        **choice,
                    }
                ],
            }
        ).encode()

    def last_json(self) -> dict[str, Any]:
        return json.loads(self.requests[-1]["body"])


@pytest.fixture
def ai_service() -> Iterator[FakeAIService]:
    fake = FakeAIService()
    fake.answer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fake.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
            )
            if fake.delay:
                fake.release.wait(fake.delay)
            try:
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                for name, value in fake.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()


def generator_for(fake: FakeAIService, **kwargs: Any) -> OpenAICompatibleGenerator:
    kwargs.setdefault("model", "test-model")
    kwargs.setdefault("timeout", 5.0)
    return OpenAICompatibleGenerator(base_url=fake.base_url, **kwargs)


def sample_input() -> PlanInput:
    return PlanInput(
        age_band="30-39",
        is_child=False,
        diagnoses=[("F33.1", "Major depressive disorder, recurrent, moderate")],
        presenting_concerns="Low mood.",
        history="",
        medications=[],
        recent_notes=[],
        start_date=START,
    )


OPTIONS = PlanOptions(length="medium", tone="professional", format="structured")


# Success -----------------------------------------------------------------------------------
def test_it_posts_a_chat_completion_and_returns_the_plan(ai_service: FakeAIService) -> None:
    html = generator_for(ai_service, api_key="sk-test").generate(sample_input(), OPTIONS)

    assert html == PLAN_HTML
    request = ai_service.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["headers"]["Content-Type"] == "application/json"
    body = ai_service.last_json()
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.2
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    assert "h2, h3, h4, p, ul, ol, li" in body["messages"][0]["content"]


def test_without_a_key_no_authorization_header_is_sent(ai_service: FakeAIService) -> None:
    generator_for(ai_service).generate(sample_input(), OPTIONS)

    assert "Authorization" not in ai_service.requests[-1]["headers"]


def test_code_fences_and_reasoning_are_stripped(ai_service: FakeAIService) -> None:
    ai_service.answer("<think>Let me plan.</think>\n```html\n" + PLAN_HTML + "\n```\n")

    assert generator_for(ai_service).generate(sample_input(), OPTIONS) == PLAN_HTML


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("```\n<p>A</p>\n```", "<p>A</p>"),
        ("Here is the plan:\n```HTML\n<p>A</p>\n```\nHope it helps.", "<p>A</p>"),
        ("```html\n<p>A</p>", "<p>A</p>"),  # fence never closed
        ("<html><body><h2>T</h2></body></html>", "<h2>T</h2>"),
        ("Line one & two\nsame paragraph\n\nSecond <para>", None),
    ],
)
def test_clean_content(content: str, expected: str | None) -> None:
    cleaned = clean_content(content)
    if expected is None:
        assert cleaned == (
            "<p>Line one &amp; two<br>same paragraph</p>\n<p>Second &lt;para&gt;</p>"
        )
    else:
        assert cleaned == expected


def test_the_end_to_end_request_is_de_identified(
    ai_service: FakeAIService, active_client: Any, therapist: Any, settings: Any
) -> None:
    relationship = client_services.relationship_update_details(
        relationship=active_client,
        section="personal",
        values={
            "phone": "415-555-0100",
            "date_of_birth": date(1990, 3, 14),
            "address": "221 Baker Street\nSan Francisco, CA 94110",
        },
        actor=active_client.therapist,
    )
    clinical_services.diagnosis_add(
        relationship=relationship, actor=relationship.therapist, code="F33.1"
    )
    clinical_services.diagnosis_add(
        relationship=relationship, actor=relationship.therapist, code="F41.1"
    )
    clinical_services.clinical_summary_update(
        relationship=relationship,
        actor=relationship.therapist,
        presenting_concerns=(
            "Maya Patel reports low mood and worry. Reach her at 415-555-0100 or "
            "maya@example.com; she lives at 221 Baker Street."
        ),
        mental_health_history="Maya was born on 14 March 1990 (DOB 03/14/1990). One prior episode.",
    )
    session = visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() - timedelta(days=3),
        duration_minutes=50,
        modality="in_person",
    )
    note = visit_services.note_save_draft(
        session=session,
        actor=therapist,
        note_format="soap",
        content={
            "subjective": "Subjective text is not sent.",
            "assessment": "Maya said she feels hopeless at times.",
            "plan": (
                "Call me at 415-555-0100, wrote maya@example.com. Continue behavioural activation."
            ),
        },
    )
    visit_services.note_sign(note=note, actor=therapist)
    settings.PLAN_AI_API_KEY = ""
    settings.PLAN_AI_TIMEOUT = "30"
    settings.PLAN_AI_BASE_URL = ai_service.base_url
    settings.PLAN_AI_MODEL = "local-model"

    generator = get_generator()
    html = generator.generate(build_plan_input(relationship, start_date=START), OPTIONS)

    assert html == PLAN_HTML
    sent = ai_service.requests[-1]["body"].decode()
    lowered = json.loads(sent)["messages"][1]["content"].lower() + sent.lower()
    for identifier in (
        "maya",
        "patel",
        "maya@example.com",
        "415-555-0100",
        "555",
        "baker street",
        "94110",
        "san francisco",
        "1990",
        "14 march",
        "03/14",
        "subjective text",
    ):
        assert identifier not in lowered, identifier
    user_message = json.loads(sent)["messages"][1]["content"]
    assert "F33.1 Major depressive disorder" in user_message
    assert "F41.1" in user_message
    assert "age band 30-39" in user_message
    assert "hopeless" in user_message and "behavioural activation" in user_message
    assert "[client]" in user_message and "[phone]" in user_message
    assert "13 November" not in user_message  # no date element but the year leaves
    assert "[week 0]" in user_message and "year 2026" in user_message


def test_the_options_are_spelled_out_for_the_model() -> None:
    messages = build_messages(
        sample_input(), PlanOptions(length="long", tone="conversational", format="narrative")
    )
    user = messages[1]["content"]

    assert "(Long, Conversational, Narrative)" in user
    assert '"You will' in user
    assert "Do not use lists" in user
    assert "by [week 12]" in messages[0]["content"]  # the date style to copy
    assert "12 weeks: [week 12]" in user and "February" not in user


def test_week_markers_in_the_answer_become_dates_from_the_start(
    ai_service: FakeAIService,
) -> None:
    ai_service.answer(
        "<h2>Plan</h2><ol><li>PHQ-9 below 10 by [week 12].</li><li>[Week 4]</li></ol>"
    )

    html = generator_for(ai_service).generate(sample_input(), PlanOptions())

    assert "PHQ-9 below 10 by 5 February 2027." in html
    assert "<li>11 December 2026</li>" in html


# Failures ----------------------------------------------------------------------------------
def test_a_slow_service_times_out_with_a_clear_message(ai_service: FakeAIService) -> None:
    ai_service.delay = 10
    started = time.monotonic()

    with pytest.raises(GenerationError) as caught:
        generator_for(ai_service, timeout=0.5).generate(sample_input(), OPTIONS)

    assert time.monotonic() - started < 5
    assert str(caught.value).startswith("The AI service did not answer in time (0.5 seconds).")


def test_an_answer_that_is_not_json_is_reported(ai_service: FakeAIService) -> None:
    ai_service.body = b"<html>Bad gateway, but with status 200</html>"

    with pytest.raises(GenerationError, match="not valid JSON"):
        generator_for(ai_service).generate(sample_input(), OPTIONS)


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "x", "object": "chat.completion"},
        {"choices": []},
        {"choices": [{"message": {"role": "assistant"}}]},
        {"choices": [{"message": {"content": None}}]},
        {"choices": ["not an object"]},
        ["not", "an", "object"],
    ],
)
def test_json_without_a_plan_is_reported(ai_service: FakeAIService, payload: Any) -> None:
    ai_service.body = json.dumps(payload).encode()

    with pytest.raises(GenerationError, match="did not contain a plan"):
        generator_for(ai_service).generate(sample_input(), OPTIONS)


@pytest.mark.parametrize("content", ["", "   ", "```html\n```", "<think>only thoughts</think>"])
def test_an_empty_plan_is_reported(ai_service: FakeAIService, content: str) -> None:
    ai_service.answer(content)

    with pytest.raises(GenerationError, match="returned an empty plan"):
        generator_for(ai_service).generate(sample_input(), OPTIONS)


def test_a_plan_cut_off_at_the_length_limit_is_reported(ai_service: FakeAIService) -> None:
    ai_service.answer("<h2>Treatment plan</h2><h3>Prob", finish_reason="length")

    with pytest.raises(GenerationError, match="length limit"):
        generator_for(ai_service).generate(sample_input(), OPTIONS)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, r"answered with an error \(HTTP 500\)"),
        (502, r"HTTP 502"),
        (401, r"HTTP 401\): the API key"),
        (404, r"address or the model \(HTTP 404\)"),
        (429, r"busy or over its usage limit"),
    ],
)
def test_http_errors_are_reported(ai_service: FakeAIService, status: int, message: str) -> None:
    ai_service.status = status
    ai_service.body = b'{"error": {"message": "boom"}}'

    with pytest.raises(GenerationError, match=message):
        generator_for(ai_service).generate(sample_input(), OPTIONS)


def test_a_redirect_is_not_followed(ai_service: FakeAIService) -> None:
    ai_service.status = 307
    ai_service.headers = {"Location": "http://127.0.0.1:9/steal"}

    with pytest.raises(GenerationError, match="HTTP 307"):
        generator_for(ai_service, api_key="sk-secret").generate(sample_input(), OPTIONS)
    assert len(ai_service.requests) == 1


def test_a_refused_connection_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.
    generator = OpenAICompatibleGenerator(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout=5
    )

    with pytest.raises(GenerationError, match="connection was refused"):
        generator.generate(sample_input(), OPTIONS)


@pytest.mark.parametrize(
    ("base_url", "model", "message"),
    [
        ("file:///etc/passwd", "m", "must start with http:// or https://"),
        ("ftp://example.org/v1", "m", "must start with http:// or https://"),
        ("http://127.0.0.1:1/v1", "", "no model is configured"),
    ],
)
def test_bad_configuration_is_reported_before_any_request(
    base_url: str, model: str, message: str
) -> None:
    generator = OpenAICompatibleGenerator(base_url=base_url, model=model)

    with pytest.raises(GenerationError, match=message):
        generator.generate(sample_input(), OPTIONS)
