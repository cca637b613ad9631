"""Benchmark: a freshly started app server, as the first users meet it.

    uv run python bench/warm_start.py [--typing 300]

On a throwaway SQLite copy of the demo practice (`load_demo`), it starts the real ASGI app
(`caseload.asgi` under uvicorn, one worker, DEBUG off) and, as the demo therapist, times over
HTTP:

- the first ICD-10 search, sent as soon as the server answers its health check, and the
  first document PDF, from a new process: what `make run` users saw take 3.6–13.7 s and
  1.1–7 s before the index file and the warm-up at start (caseload/startup.py);
- the same from a server started without the warm-up (`WARM_UP_AT_START=false`), with the
  process's memory (RSS, from /proc) before and after the first search: what the index
  costs a process;
- the ICD-10 endpoint as one person typing: `--typing` requests one after another (one
  connection; every keystroke of common terms and codes), p50/p95/p99 and max.

It prints the figures; it asserts nothing. Needs nothing but the project's dependencies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

TERMS = ["depression", "generalized anxiety", "ptsd", "adhd", "insomnia", "F41.1", "F43.10"]

SESSION = """
import json, time
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from caseload.accounts.models import User
from caseload.documents.models import AssignedDocument
user = User.objects.get(email="therapist@demo.caseload.test")
store = SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store["caseload_started"] = int(time.time())
store.set_expiry(3600)
store.create()
document = AssignedDocument.objects.filter(
    relationship__therapist=user, status="completed"
).select_related("relationship").order_by("pk").first()
print(json.dumps({
    "session": store.session_key,
    "pdf": f"/clients/{document.relationship.public_id}/documents/{document.public_id}/pdf/",
}))
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_pid(supervisor: int) -> int:
    """uvicorn with one worker serves from its own process: the supervisor's child, if any."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return int(children[0]) if children else supervisor


def get(port: int, path: str, cookie: str) -> tuple[int, float, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, elapsed, body


def keystrokes() -> list[str]:
    typed = []
    for term in TERMS:
        typed += [term[:n] for n in range(2, len(term) + 1)]
    return typed


def type_searches(port: int, cookie: str, requests: int) -> list[float]:
    """The ICD-10 picker as one person types: `requests` searches one after another on one
    kept-alive connection, as a browser's. Milliseconds each, the server's and the network's."""
    latencies = []
    typed = keystrokes()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for n in range(requests):
            query = typed[n % len(typed)].replace(" ", "+")
            begun = time.perf_counter()
            connection.request(
                "GET", f"/clinical/icd10/?q={query}", headers={"Cookie": f"sessionid={cookie}"}
            )
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - begun) * 1000)
            assert response.status == 200, response.status
    finally:
        connection.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typing", type=int, default=300, help="ICD-10 requests, one by one")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        env = {
            **os.environ,
            "SQLITE_PATH": str(Path(workdir) / "bench.sqlite3"),
            "DEBUG": "false",
            "SECURE_HTTPS": "false",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)

        def manage(*command: str) -> str:
            return subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout

        manage("migrate", "-v0")
        manage("createcachetable")
        manage("load_demo")
        found = json.loads(manage("shell", "-c", SESSION).strip().splitlines()[-1])
        cookie, pdf = found["session"], found["pdf"]
        # The ICD-10 index file under var/ is built once per checkout (by whoever needs it
        # first): make sure it exists, so the figures are of a start, not of the first build.
        manage("shell", "-c", "from caseload.clinical import icd10; icd10.get_index()")

        warm = run_server(args.port, env, cookie, pdf, warm_up=True, typing=args.typing)
        cold = run_server(args.port, env, cookie, pdf, warm_up=False, typing=50)
    print_figures(warm, cold)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_figures(warm: dict[str, Any], cold: dict[str, Any]) -> None:
    latencies = sorted(warm["latencies"])
    print("With the warm-up (as deployed):")
    print(f"  server answering after            {warm['up']:6.2f} s")
    print(f"  first ICD-10 search, sent at once {warm['search'] * 1000:6.0f} ms")
    print(f"  first document PDF, 10 s later    {warm['pdf'] * 1000:6.0f} ms")
    print(
        f"  ICD-10 as one person typing       p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f}, p99 {percentile(latencies, 0.99):.1f}, "
        f"max {latencies[-1]:.1f} "
        f"({len(latencies)} requests, one kept-alive connection)"
    )
    print("Without it (WARM_UP_AT_START=false), what the index and PDF cost a process:")
    print(f"  first ICD-10 search               {cold['search'] * 1000:6.0f} ms")
    print(f"  first document PDF                {cold['pdf'] * 1000:6.0f} ms")
    print(
        f"  memory (RSS)                      {cold['rss_start']:.0f} MB answering, "
        f"{cold['rss_search']:.0f} MB after the first search "
        f"(+{cold['rss_search'] - cold['rss_start']:.0f} MB), {cold['rss_end']:.0f} MB after "
        f"the PDF and {len(cold['latencies'])} searches"
    )


def run_server(
    port: int, env: dict[str, str], cookie: str, pdf: str, *, warm_up: bool, typing: int
) -> dict[str, Any]:
    """Start one app server (one uvicorn worker) with `env`, time its first ICD-10 search and
    first PDF, then `typing` searches as one person types; stop it and return the figures."""
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "caseload.asgi:application",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "WARM_UP_AT_START": "true" if warm_up else "false"},
    )
    try:
        while True:
            try:
                status, _, _ = get(port, "/health/", cookie)
                if status == 200:
                    break
            except OSError:
                time.sleep(0.02)
        figures: dict[str, Any] = {"up": time.perf_counter() - started}
        pid = worker_pid(server.pid)
        figures["rss_start"] = rss_mb(pid)
        status, figures["search"], _ = get(port, "/clinical/icd10/?q=major+depressive", cookie)
        assert status == 200, status
        figures["rss_search"] = rss_mb(pid)
        if warm_up:
            time.sleep(10)  # a person's first PDF comes later than the first request
        status, figures["pdf"], body = get(port, pdf, cookie)
        assert status == 200 and body.startswith(b"%PDF"), status
        figures["latencies"] = type_searches(port, cookie, typing)
        figures["rss_end"] = rss_mb(pid)
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
