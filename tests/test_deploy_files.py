"""The process supervision files under deploy/ start the commands that exist, with options
the commands accept, and restart them (README "Process supervision")."""

from __future__ import annotations

import shlex
from pathlib import Path

from caseload.worker.management.commands.run_worker import Command as RunWorker

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def unit(name: str) -> dict[str, str]:
    settings = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value
    return settings


def worker_options(command: list[str]) -> dict[str, object]:
    """The options `run_worker` receives from `… manage.py run_worker <args>`."""
    assert command[command.index("manage.py") + 1] == "run_worker"
    args = command[command.index("run_worker") + 1 :]
    return vars(RunWorker().create_parser("manage.py", "run_worker").parse_args(args))


def test_the_systemd_worker_runs_the_recovering_worker_on_every_queue_and_is_restarted() -> None:
    worker = unit("caseload-worker@.service")
    options = worker_options(shlex.split(worker["ExecStart"]))
    assert options["queue_name"] == "*"  # systemd passes it literally, no shell globbing
    assert options["reload"] is False
    assert options["heartbeat"] * 2 <= options["lease"]  # type: ignore[operator]
    assert worker["Restart"] == "always"
    assert worker["StartLimitIntervalSec"] == "0"


def test_the_systemd_app_server_serves_the_asgi_application_and_is_restarted() -> None:
    web = unit("caseload-web.service")
    command = shlex.split(web["ExecStart"])
    # daphne through caseload.serve, which masks invitation and reset secrets in its access log
    assert Path(command[0]).name == "python" and command[1:3] == ["-m", "caseload.serve"]
    assert command[-1] == "caseload.asgi:application"
    assert web["Restart"] == "always"


def test_the_procfile_runs_the_same_worker() -> None:
    lines = dict(
        line.split(": ", 1) for line in (DEPLOY / "Procfile").read_text().splitlines() if line
    )
    assert set(lines) == {"web", "worker", "release"}
    options = worker_options(shlex.split(lines["worker"]))
    assert options["queue_name"] == "*" and options["reload"] is False
    assert "caseload.asgi:application" in lines["web"]
