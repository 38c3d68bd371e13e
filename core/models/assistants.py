"""Assistants, and what each may spend on LLMs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models.functions import Lower

from core.models.workspaces import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, Workspace, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    FRENCH = "fr", "French"
    GERMAN = "de", "German"
    SPANISH = "es", "Spanish"
    ITALIAN = "it", "Italian"
    PORTUGUESE = "pt", "Portuguese"
    DUTCH = "nl", "Dutch"


class NluMode(models.TextChoices):
    FAST = "fast", "Fast: trains in seconds"
    ACCURATE = "accurate", "Accurate: fine-tunes the encoder first, trains in minutes"


class AssistantQuerySet(models.QuerySet["Assistant"]):
    def for_member(self, user: User | AnonymousUser) -> AssistantQuerySet:
        """Assistants of the user's workspaces, each annotated with the user's ``member_role``."""
        if not user.is_authenticated:
            return self.none()
        return (
            self.filter(workspace__memberships__user=user)
            .annotate(member_role=role_of(user, "workspace_id"))  # type: ignore[no-redef]
            .select_related("workspace")
        )


class Assistant(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="assistants")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    # Sites whose pages may embed the web chat, each an origin matched on scheme, host and port
    # ("https://shop.example.com", "https://shop.example.com:8443"), or "*" for any.
    allowed_origins = models.JSONField(default=list, blank=True)
    # What the assistant may spend on LLMs; the gateway enforces these on every call.
    llm_model = models.ForeignKey(
        "gateway.LlmModel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the instance's default model.",
    )
    llm_requests_per_minute = models.PositiveIntegerField(null=True, blank=True, default=60)
    llm_tokens_per_minute = models.PositiveIntegerField(null=True, blank=True, default=100_000)
    llm_monthly_budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="US dollars; empty: none."
    )
    published_version = models.ForeignKey(
        "core.AssistantVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="What the runtime serves; empty: nothing published yet.",
    )
    llm_injection_judge = models.BooleanField(
        default=False, help_text="Also ask the LLM whether user text tries to hijack a prompt."
    )
    nlu_threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="Confidence below which a turn is no match; empty: the one each training "
        "calibrates on held-out data.",
    )
    nlu_mode = models.CharField(
        max_length=16,
        choices=NluMode.choices,
        default=NluMode.FAST,
        help_text="Accurate fine-tunes the NLU's encoder on this assistant's utterances: more "
        "accurate, minutes instead of seconds per training.",
    )
    # Hybrid understanding: turns whose NLU confidence falls in [low, high) go to the LLM, which
    # picks among the NLU's top intents by their descriptions (or none of them).
    hybrid_enabled = models.BooleanField(
        default=False, help_text="Let the LLM decide the turns the in-house NLU is unsure of."
    )
    hybrid_low = models.FloatField(
        default=0.3, help_text="Below this confidence the NLU's no-match stands."
    )
    hybrid_high = models.FloatField(
        default=0.7, help_text="From this confidence up the NLU's intent stands."
    )
    publish_requires_tests = models.BooleanField(
        default=False,
        help_text="Publishing plays the conversation tests first and stops when one fails.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssistantQuerySet.as_manager()
    member_role: str | None  # the requesting user's role, annotated by for_member()

    class Meta:
        db_table = "builder_assistant"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint(
                "workspace", Lower("name"), name="assistant_name_unique_in_workspace"
            )
        ]
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name
