from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from builder.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, Language, Role

T = TypeVar("T")


def submit(form: forms.Form, service: Callable[..., T], **kwargs: Any) -> T | None:
    """Run a service for a valid form; a ValidationError it raises shows on the form's fields.

    Returns what the service returned, or None when the form now carries the errors.
    """
    try:
        return service(**kwargs)
    except ValidationError as error:
        form.add_error(None, error)
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


class MemberAddForm(forms.Form):
    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
