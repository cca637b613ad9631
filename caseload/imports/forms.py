"""Forms of the client import: the upload, the column mapping, the preview's choices, and the
form each row is checked with (the "Add a New Client" form's rules, plus the details)."""

from __future__ import annotations

from typing import Any

from django import forms

from caseload.accounts.models import User
from caseload.clients.forms import AddClientForm
from caseload.imports.parsing import FIELDS, MAX_BYTES
from caseload.lib.fields import PastDateField, PhoneField
from caseload.practices.models import Practice, Role


class ImportRowForm(AddClientForm):
    """One row of the file: validated exactly as "Add a New Client" validates a client, and
    the Personal Information and Emergency Contact fields as the profile does."""

    phone = PhoneField(label="Phone", required=False)
    date_of_birth = PastDateField(label="Date of birth", required=False)
    emergency_name = forms.CharField(label="Emergency contact name", max_length=200, required=False)
    emergency_relationship = forms.CharField(
        label="Emergency contact relationship", max_length=100, required=False
    )
    emergency_phone = PhoneField(label="Emergency contact phone", required=False)
    emergency_email = forms.EmailField(
        label="Emergency contact email", max_length=254, required=False
    )


def clinicians(practice: Practice) -> Any:
    return User.objects.filter(
        membership__practice=practice,
        membership__role__in=(Role.THERAPIST, Role.SUPERVISOR),
        is_active=True,
    ).order_by("full_name", "email")


class ClinicianChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.full_name or obj.email


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma or semicolon separated, up to 5 MB and 5,000 clients.",
        error_messages={"required": "Choose a CSV file to upload."},
    )
    clinician = ClinicianChoiceField(
        label="Import into the caseload of",
        queryset=User.objects.none(),
        empty_label="Choose a clinician…",
        error_messages={"required": "Choose the clinician whose caseload the clients join."},
    )

    def __init__(self, *args: Any, practice: Practice, for_admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if for_admin:
            self.fields["clinician"].queryset = clinicians(practice)  # type: ignore[attr-defined]
        else:
            del self.fields["clinician"]
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                "The file is larger than 5 MB. Split it into smaller files."
            )
        return upload


class MappingForm(forms.Form):
    """A select per column of the file."""

    def __init__(
        self, *args: Any, headers: list[str], mapping: list[str], samples: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Don't import"), *FIELDS.items()]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or f"Column {index + 1}",
                choices=choices,
                required=False,
                initial=mapping[index] if index < len(mapping) else "",
                help_text=f"e.g. {samples[index]}" if samples[index] else "",
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data[name] for name in self.fields]


class StartForm(forms.Form):
    invitations = forms.ChoiceField(
        label="Invitations",
        choices=[
            ("now", "Send invitations now"),
            ("later", "Send invitations later"),
        ],
        initial="now",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose when to send the invitations."},
    )
    confirmed = forms.TypedMultipleChoiceField(
        label="Import these possible duplicates anyway",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, possible: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].choices = possible  # type: ignore[attr-defined]
