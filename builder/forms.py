from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from builder.logins import REFUSED, login_refused
from core.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, EntityKind, Language, NluMode, Role
from nlu.entities import BUILT_INS

T = TypeVar("T")


def submit(form: forms.BaseForm, service: Callable[..., T], **kwargs: Any) -> T | None:
    """Run a service for a valid form; a ValidationError it raises shows on the form's fields.

    Returns what the service returned, or None when the form now carries the errors.
    """
    try:
        return service(**kwargs)
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            form.add_error(None, error)
            return None
        for field, errors in error.error_dict.items():
            # A service names its own arguments; those the form lacks show above the form.
            form.add_error(field if field in form.fields else None, errors)
        return None


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="Teammates can add you to their workspace by this address.")

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        model = self._meta.model
        if model._default_manager.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)


class AssistantForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What this assistant is for, in a sentence or two.",
    )
    language = forms.ChoiceField(choices=Language.choices, initial=Language.ENGLISH)
    allowed_origins = forms.CharField(
        required=False,
        label="Sites that may embed the web chat",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, like https://shop.example.com, with the port when it is not "
        "the usual one (https://shop.example.com:8443), or * for any site. "
        "This server's own pages always may.",
    )

    def origins(self) -> list[str]:
        return self.cleaned_data.get("allowed_origins", "").split()


class AssistantEditForm(AssistantForm):
    """An existing assistant's settings: also how it understands turns."""

    nlu_threshold = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        label="Confidence threshold",
        help_text="Below this confidence a turn matches no intent. Empty: the threshold each "
        "training calibrates on held-out data.",
    )
    nlu_mode = forms.ChoiceField(
        choices=NluMode.choices,
        required=False,  # left out of a post: the mode stays
        label="NLU training",
        help_text="Accurate fine-tunes the encoder on this assistant's utterances: a point or "
        "so more accurate on public benchmarks, minutes instead of seconds per training. Small "
        "edits keep the tuned encoder and retrain in seconds; it is tuned again once a tenth "
        "of the utterances changed or an intent came or went.",
    )
    hybrid_enabled = forms.BooleanField(
        required=False,
        label="Hybrid understanding",
        help_text="Turns the in-house NLU is unsure of go to the LLM, which picks among its best "
        "intents by their descriptions; the NLU's answer stands if the LLM fails.",
    )
    hybrid_low = forms.FloatField(
        required=False, min_value=0, max_value=1, label="Unsure from confidence"
    )
    hybrid_high = forms.FloatField(required=False, min_value=0, max_value=1, label="Unsure below")


class MemberAddForm(forms.Form):
    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


ANNOTATION_HELP = (
    "One utterance per line. Mark entities like Rasa does: I want a [large](size) pizza, "
    "or select words and use “Tag selection”."
)


class IntentForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH, help_text="e.g. order_pizza")
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When should this intent trigger?",
    )
    utterances = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6}), help_text=ANNOTATION_HELP
    )
    synthesise = forms.BooleanField(
        required=False,
        label="Write starting examples with the LLM",
        help_text="With no utterances above: the assistant's LLM writes a starting set from the "
        "name and description, so the intent trains at once.",
    )


class UtterancesForm(forms.Form):
    utterances = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), help_text=ANNOTATION_HELP, label="Add utterances"
    )


class DescriptionForm(forms.Form):
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When should this intent trigger? (The hybrid mode's LLM reads this.)",
    )


class EntityForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH, help_text="e.g. size")
    kind = forms.ChoiceField(choices=EntityKind.choices, initial=EntityKind.LIST)
    values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="List entities: one value per line, synonyms after a colon — large: big, XL",
    )
    pattern = forms.CharField(required=False, max_length=500, help_text="Regex entities")
    builtin = forms.ChoiceField(
        required=False, choices=[("", "—"), *((name, name) for name in BUILT_INS)]
    )

    def entity_values(self) -> list[dict[str, Any]]:
        values = []
        for line in self.cleaned_data.get("values", "").splitlines():
            value, _, synonyms = line.partition(":")
            if value.strip():
                values.append(
                    {
                        "value": value.strip(),
                        "synonyms": [s.strip() for s in synonyms.split(",") if s.strip()],
                    }
                )
        return values


class RequiredEntitiesForm(forms.Form):
    required = forms.CharField(
        required=False,
        label="Required entities",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, entity: how to ask for it — size: Which size would you like?",
    )

    def required_entities(self) -> list[dict[str, str]]:
        pairs = (line.partition(":") for line in self.cleaned_data["required"].splitlines())
        return [
            {"entity": entity.strip(), "prompt": prompt.strip()}
            for entity, _, prompt in pairs
            if entity.strip()
        ]


class PublishForm(forms.Form):
    notes = forms.CharField(required=False, max_length=500, help_text="What changed (optional).")


class NluImportForm(forms.Form):
    file = forms.FileField(help_text="Rasa NLU YAML (data/nlu.yml) or CSV of text,intent.")
    kind = forms.ChoiceField(choices=[("rasa", "Rasa YAML"), ("csv", "CSV")], label="Format")


class AssistantImportForm(forms.Form):
    file = forms.FileField(
        help_text="An assistant exported from Parley (JSON, or the zip archive with its documents)."
    )
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH, required=False, help_text="Default: as exported."
    )


class PromptForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    system = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    template = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="{{variable}} placeholders are filled from the conversation's variables.",
    )
    model = forms.ChoiceField(required=False, help_text="Empty: the assistant's model.")
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.3)
    max_tokens = forms.IntegerField(min_value=1, initial=400)
    notes = forms.CharField(required=False, max_length=500)
    output_schema = forms.CharField(
        required=False,
        label="Output JSON schema",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Optional: the reply is a JSON object valid for this schema, e.g. {"type": '
        '"object", "properties": {"size": {"enum": ["small", "large"]}}}. A generate step '
        "keeps the object instead of showing text.",
    )

    def __init__(self, *args: Any, models: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "—"), *((key, key) for key in models)]  # type: ignore[attr-defined]

    def clean_output_schema(self) -> dict[str, Any] | None:
        text = self.cleaned_data["output_schema"].strip()
        if not text:
            return None
        try:
            schema = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"The schema is not JSON: {error}") from None
        if not isinstance(schema, dict):
            raise forms.ValidationError("The schema is a JSON object.")
        return schema


class PromptTestCaseForm(forms.Form):
    name = forms.CharField(max_length=200, label="Test case name")
    values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One variable per line: name = value",
    )
    checks = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: contains: …, not contains: …, regex: …, json (or json: "
        "{schema}), min length: N, max length: N, judge: a rubric for an LLM to apply",
    )

    def clean_values(self) -> dict[str, str]:
        values = {}
        for number, line in enumerate(self.cleaned_data["values"].splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            if not equals or not name.strip():
                raise forms.ValidationError(f"line {number}: write it as name = value")
            values[name.strip()] = value.strip()
        return values


class PromptTestRunForm(forms.Form):
    models = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the version's own model.",
    )
    repetitions = forms.IntegerField(
        min_value=1, max_value=20, initial=5, help_text="Runs per case and model."
    )

    def __init__(self, *args: Any, models: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["models"].choices = [(key, key) for key in models]  # type: ignore[attr-defined]


class LoginForm(AuthenticationForm):
    """Django's login form, refusing an account after too many failures from one address."""

    def clean(self) -> dict[str, Any]:
        if login_refused(self.request, self.cleaned_data.get("username") or ""):
            raise forms.ValidationError(REFUSED, code="throttled")
        return super().clean()
