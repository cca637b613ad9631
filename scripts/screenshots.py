"""Take the README's screenshots of a fresh demo: `uv run python scripts/screenshots.py`.

Builds a throwaway SQLite database with the demo data, serves it on a free local port, and
drives Debian's Chromium (Playwright) through the client list, a client's overview, a signed
note, the plan editor and the portal, at desktop (1280×800) and phone (390×844) sizes.
PNGs go to docs/screenshots/. Pictures are for people: nothing compares them pixel by pixel.
"""

# ruff: noqa: S603, S310  (runs our own manage.py and fetches our own local server)

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
THERAPIST = "therapist@demo.caseload.test"
CLIENT = "maya.patel@demo.caseload.test"
PASSWORD = "caseload-demo-2026"  # noqa: S105 (the published demo password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").first.fill(email)
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state()


def shoot(page: Page, base: str, path: str, name: str, size: str) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}-{size}.png"), full_page=False)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="caseload-shots-"))
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}",
        "OUTBOX_DIR": str(workdir / "outbox"),
    }
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "createcachetable")
    manage(env, "load_demo")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        code = (
            "from caseload.clients.models import CareRelationship as R;"
            "from caseload.visits.models import ProgressNote as N;"
            "m = R.objects.get(client__email='maya.patel@demo.caseload.test');"
            "n = N.objects.filter(session__relationship=m, status='signed').first();"
            "print('IDS', m.public_id, n.session.public_id)"
        )
        found = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        line = next(line for line in found.splitlines() if line.startswith("IDS "))
        maya, session = line.split()[1:3]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            for size, (width, height) in SIZES.items():
                staff = browser.new_context(viewport={"width": width, "height": height})
                page = staff.new_page()
                sign_in(page, base, THERAPIST)
                shoot(page, base, "/clients/", "client-list", size)
                shoot(page, base, f"/clients/{maya}/", "overview", size)
                shoot(page, base, f"/clients/{maya}/sessions/{session}/", "note", size)
                shoot(page, base, f"/clients/{maya}/plans/new/", "plan-editor", size)
                staff.close()
                portal = browser.new_context(viewport={"width": width, "height": height})
                page = portal.new_page()
                sign_in(page, base, CLIENT)
                shoot(page, base, "/portal/", "portal", size)
                portal.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Screenshots written to {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
