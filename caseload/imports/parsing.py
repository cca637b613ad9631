"""Reading a client CSV: encoding, delimiter, limits, and the columns' automatic mapping.

Pure functions on bytes and strings; nothing here touches the database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass

from caseload.lib.middleware import without_control_characters

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000

#: The fields a column can go to, in the order the mapping step offers them.
FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "date_of_birth": "Date of birth",
    "billing_type": "Billing type",
    "child_name": "Child's name",
    "guardian_name": "Guardian's name",
    "guardian_email": "Guardian's email",
    "guardian_relationship": "Guardian's relationship",
    "emergency_name": "Emergency contact name",
    "emergency_relationship": "Emergency contact relationship",
    "emergency_phone": "Emergency contact phone",
    "emergency_email": "Emergency contact email",
}

#: Common header wordings (normalised: lower case, letters and digits, single spaces).
_HEADERS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "first", "given name", "forename"),
    "last_name": ("last name", "lastname", "last", "surname", "family name"),
    "full_name": ("name", "full name", "fullname", "client name", "client", "client full name"),
    "email": ("email", "e mail", "email address", "e mail address", "client email", "mail"),
    "phone": (
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "telephone",
        "tel",
        "client phone",
    ),
    "date_of_birth": ("date of birth", "dob", "birth date", "birthdate", "birthday", "born"),
    "billing_type": ("billing type", "billing", "payment type", "payment"),
    "child_name": ("child name", "child s name", "childs name", "child", "child full name"),
    "guardian_name": (
        "guardian name",
        "guardian s name",
        "guardian",
        "guardian full name",
        "parent name",
        "parent",
    ),
    "guardian_email": (
        "guardian email",
        "guardian s email",
        "guardian email address",
        "parent email",
    ),
    "guardian_relationship": (
        "guardian relationship",
        "guardian s relationship",
        "relationship to child",
        "guardian relationship to child",
    ),
    "emergency_name": (
        "emergency contact",
        "emergency contact name",
        "emergency name",
        "emergency contact full name",
    ),
    "emergency_relationship": ("emergency contact relationship", "emergency relationship"),
    "emergency_phone": (
        "emergency contact phone",
        "emergency phone",
        "emergency contact number",
        "emergency contact phone number",
    ),
    "emergency_email": ("emergency contact email", "emergency email"),
}
_BY_HEADER = {wording: name for name, wordings in _HEADERS.items() for wording in wordings}


class ImportFileError(Exception):
    """The file can't be read as a client list; the message says why, for the upload field."""


@dataclass(frozen=True)
class CsvFile:
    text: str
    delimiter: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells padded or cut to the headers)
    sha256: str


def normalise_header(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.casefold()).split())


def auto_mapping(headers: list[str]) -> list[str]:
    """The field for each column ("" for none): each field goes to its first matching column."""
    mapping: list[str] = []
    for header in headers:
        field = _BY_HEADER.get(normalise_header(header), "")
        mapping.append(field if field not in mapping else "")
    return mapping


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def parse_text(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and numbered data rows (the header is line 1); blank rows are dropped, short
    rows padded, long rows cut."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        headers = [cell.strip() for cell in next(reader, [])]
        rows: list[tuple[int, list[str]]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(
                    f"The file has more than {MAX_ROWS:,} clients. Split it into smaller files."
                )
            rows.append((reader.line_num, (row + [""] * len(headers))[: len(headers)]))
    except csv.Error as error:
        raise ImportFileError(
            f"This file isn't a valid CSV (line {reader.line_num}: {error})."
        ) from None
    return headers, rows


def read_csv(data: bytes) -> CsvFile:
    """Check and read an uploaded file (UTF-8 with or without BOM; comma or semicolon)."""
    if len(data) > MAX_BYTES:
        raise ImportFileError("The file is larger than 5 MB. Split it into smaller files.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            "This file isn't UTF-8 text. In your spreadsheet, save it as “CSV UTF-8”."
        ) from None
    if "\x00" in text:
        raise ImportFileError("This file isn't a CSV text file.")
    # As for every form post (lib.middleware): no controls, no bidirectional overrides.
    text = without_control_characters(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise ImportFileError("The file is empty.")
    delimiter = _delimiter(text)
    headers, rows = parse_text(text, delimiter)
    if not any(headers):
        raise ImportFileError("The first line should name the columns (e.g. Name, Email).")
    if not rows:
        raise ImportFileError("The file has column names but no clients.")
    return CsvFile(
        text=text,
        delimiter=delimiter,
        headers=headers,
        rows=rows,
        sha256=hashlib.sha256(data).hexdigest(),
    )
