"""The message form: plain text, not empty, at most MESSAGE_MAX_LENGTH characters."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

from caseload.messaging.services import normalize_text


class MessageForm(forms.Form):
    # The limit shows as the textarea's maxlength; the server still says so in words.
    text = forms.CharField(
        label="Message",
        strip=False,
        max_length=settings.MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a message before sending."},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # The limit is checked in `clean_text`, on the normalised text and in words.
        field = self.fields["text"]
        field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
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
