"""Flows: the steps a conversation walks, drawn on the canvas (see ``runtime.flow_graph``)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from core.models.assistants import Assistant
from core.models.workspaces import NAME_MAX_LENGTH


class Flow(models.Model):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    graph = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "builder_flow"  # named when it lived in builder
        constraints = [models.UniqueConstraint("assistant", Lower("name"), name="flow_name_unique")]
        ordering = ["id"]  # the first flow is where conversations start

    def __str__(self) -> str:
        return self.name


class AssistantVersion(models.Model):
    """A frozen copy of the assistant (flows, intents, entities, prompts) and its trained NLU.

    The runtime serves the published version; the builder's test panel talks to the draft.
    """

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    notes = models.CharField(max_length=500, blank=True)
    snapshot = models.JSONField()  # the assistant's export, as import reads it
    nlu_version = models.CharField(max_length=64)  # in the NLU model registry
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "builder_assistantversion"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint(fields=["assistant", "number"], name="version_number_unique")
        ]
        ordering = ["assistant_id", "-number"]

    def __str__(self) -> str:
        return f"{self.assistant} v{self.number}"
