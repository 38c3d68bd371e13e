"""LLM prompts of an assistant and their immutable versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models.functions import Lower

from core.models.assistants import Assistant
from core.models.workspaces import NAME_MAX_LENGTH, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class PromptQuerySet(models.QuerySet["Prompt"]):
    def for_member(self, user: User | AnonymousUser) -> PromptQuerySet:
        """Prompts of the user's assistants, each annotated with the user's ``member_role``."""
        if not user.is_authenticated:
            return self.none()
        return (
            self.filter(assistant__workspace__memberships__user=user)
            .annotate(member_role=role_of(user, "assistant__workspace_id"))  # type: ignore[no-redef]
            .select_related("assistant")
        )


class Prompt(models.Model):
    """A named LLM prompt of an assistant; what it says lives in its immutable versions."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PromptQuerySet.as_manager()
    member_role: str | None  # the requesting user's role, annotated by for_member()

    class Meta:
        db_table = "builder_prompt"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint("assistant", Lower("name"), name="prompt_name_unique")
        ]
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name


class PromptVersion(models.Model):
    """One frozen wording of a prompt; flow steps and the LLM ledger point at a version."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    system = models.TextField(blank=True, max_length=20_000)
    template = models.TextField(max_length=20_000)  # {{ variable }} placeholders
    variables = models.JSONField(default=list)  # the names the template uses, all required
    model = models.ForeignKey(
        "gateway.LlmModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    temperature = models.FloatField(default=0.3)
    max_tokens = models.PositiveIntegerField(default=400)
    notes = models.CharField(max_length=500, blank=True)
    # A JSON schema (an object): the reply is JSON valid for it, checked and repaired by the
    # gateway; a flow's generate step keeps the object instead of streaming text.
    output_schema = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "builder_promptversion"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "number"], name="prompt_version_number_unique"
            )
        ]
        ordering = ["prompt_id", "-number"]

    def __str__(self) -> str:
        return f"{self.prompt} v{self.number}"
