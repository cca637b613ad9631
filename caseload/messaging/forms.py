"""The message form: plain text, not empty, at most MESSAGE_MAX_LENGTH characters."""

from __future__ import annotations

from django import forms
from django.conf import settings

from caseload.messaging.services import normalize_text


class MessageForm(forms.Form):
    # No maxlength attribute: a browser would cut a long paste silently; the server says so.
    text = forms.CharField(
        label="Message",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a message before sending."},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["text"].help_text = (
            f"Plain text, up to {settings.MESSAGE_MAX_LENGTH:,} characters. "
            "Links become clickable. Don't use messages for emergencies."
        )

    def clean_text(self) -> str:
        text = normalize_text(self.cleaned_data["text"])
        if not text:
            raise forms.ValidationError("Write a message before sending.")
        limit = settings.MESSAGE_MAX_LENGTH
        if len(text) > limit:
            raise forms.ValidationError(
                f"A message can be at most {limit:,} characters; this one has {len(text):,}. "
                "Shorten it, or send it in parts."
            )
        return text
