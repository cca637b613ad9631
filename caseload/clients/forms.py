"""Forms for My Clients. Each lists its fields; owner, state and practice come from the server."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from caseload.clients.models import BillingType, CareRelationship, GuardianRelationship
from caseload.lib.fields import PastDateField, PhoneField
from caseload.practices.models import Practice


class AddClientForm(forms.Form):
    """MC-1 / MC-3: "Add a New Client"."""

    is_child = forms.BooleanField(label="Child Account", required=False)
    full_name = forms.CharField(label="Full name", max_length=200, required=False)
    email = forms.EmailField(label="Email", max_length=254, required=False)
    billing_type = forms.ChoiceField(
        label="Billing type", choices=[("", "Choose…"), *BillingType.choices], required=False
    )
    guardian_name = forms.CharField(label="Guardian's full name", max_length=200, required=False)
    guardian_email = forms.EmailField(label="Guardian's email", max_length=254, required=False)
    guardian_relationship = forms.ChoiceField(
        label="Relationship",
        choices=[("", "Choose…"), *GuardianRelationship.choices],
        required=False,
    )
    #: One key per form shown: the same form sent twice (a resubmission after a dropped
    #: connection) finds the client it created instead of a "you already have" error.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["submission_key"] = uuid.uuid4()
        self.practice = practice
        if not practice.billing_enabled:
            del self.fields["billing_type"]
        if not practice.child_accounts_enabled:
            for name in ("is_child", "guardian_name", "guardian_email", "guardian_relationship"):
                del self.fields[name]

    @property
    def child_accounts(self) -> bool:
        return "is_child" in self.fields

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        is_child = bool(data.get("is_child"))
        required = ["full_name"]
        if is_child:
            required += ["guardian_name", "guardian_email", "guardian_relationship"]
        else:
            required.append("email")
        if "billing_type" in self.fields:
            required.append("billing_type")
        messages = {
            "full_name": "Enter the child's full name."
            if is_child
            else "Enter the client's full name.",
            "email": (
                "Enter the client's email address: it is used for the invitation and to sign in."
            ),
            "billing_type": "Choose a billing type.",
            "guardian_name": "Enter the guardian's full name.",
            "guardian_email": "Enter the guardian's email address: the invitation goes there.",
            "guardian_relationship": "Choose the guardian's relationship to the child.",
        }
        for name in required:
            if not (data.get(name) or "").strip() and name not in self.errors:
                self.add_error(name, messages[name])
        return data


#: The model's address is a TextField: the form gives it its limit.
ADDRESS_MAX_LENGTH = 1000


class PersonalInformationForm(forms.ModelForm[CareRelationship]):
    phone = PhoneField(label="Phone", required=False)
    date_of_birth = PastDateField(label="Date of birth", required=False)
    address = forms.CharField(
        label="Address",
        max_length=ADDRESS_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = CareRelationship
        fields = ["phone", "date_of_birth", "pronouns", "gender", "address"]


class EmergencyContactForm(forms.ModelForm[CareRelationship]):
    emergency_phone = PhoneField(label="Phone", required=False)

    class Meta:
        model = CareRelationship
        fields = ["emergency_name", "emergency_relationship", "emergency_phone", "emergency_email"]


class PreferencesForm(forms.ModelForm[CareRelationship]):
    messaging_enabled = forms.BooleanField(label="Secure messaging", required=False)

    class Meta:
        model = CareRelationship
        fields = ["messaging_enabled", "billing_type"]

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if practice.billing_enabled:
            self.fields["billing_type"].required = True
            self.fields["billing_type"].error_messages["required"] = "Choose a billing type."
        else:
            del self.fields["billing_type"]


class RemoveClientForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that I will lose access to this client's record.",
        error_messages={"required": "Tick the box to confirm you want to remove this client."},
    )
