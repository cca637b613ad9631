#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    if sys.argv[1:2] == ["runserver"]:  # daphne's runserver serves caseload.asgi
        os.environ.setdefault("SERVER_MODE", "asgi")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
