"""Run daphne with invitation and password-reset secrets masked in its access log.

    uv run python -m caseload.serve --bind 0.0.0.0 --port 8000 caseload.asgi:application

Takes every option of the `daphne` command (see caseload.lib.log_masking).
"""

from __future__ import annotations

from daphne.cli import CommandLineInterface

from caseload.lib.log_masking import MaskingServer


class MaskedCommandLineInterface(CommandLineInterface):  # type: ignore[misc]  # untyped
    server_class = MaskingServer


if __name__ == "__main__":
    MaskedCommandLineInterface.entrypoint()
