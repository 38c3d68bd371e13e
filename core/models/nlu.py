"""What the in-house NLU learns from: intents with their utterances, and entities.

Saving any of them queues a training run; the newest successful run is the draft model that the
test panel talks to, and publishing freezes it for the runtime.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from core.models.assistants import Assistant
from core.models.jobs import Job
from core.models.workspaces import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH

UTTERANCE_MAX_LENGTH = 1000  # the NLU reads no further


class Intent(models.Model):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="intents")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(
        max_length=DESCRIPTION_MAX_LENGTH, blank=True, help_text="When should this intent trigger?"
    )
    # [{"entity": name, "prompt": "Which size?"}]: asked for, in order, until each is filled.
    required_entities = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "builder_intent"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint("assistant", Lower("name"), name="intent_name_unique")
        ]
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name


class Utterance(models.Model):
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="utterances")
    text = models.CharField(max_length=UTTERANCE_MAX_LENGTH)
    # [{"start": 0, "end": 5, "entity": "size", "value": "large"}], offsets into ``text``
    entities = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "builder_utterance"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint("intent", Lower("text"), name="utterance_unique_in_intent")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class EntityKind(models.TextChoices):
    LIST = "list", "List of values with synonyms"
    REGEX = "regex", "Regular expression"
    BUILTIN = "builtin", "Built-in"


class Entity(models.Model):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="entities")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    kind = models.CharField(max_length=16, choices=EntityKind.choices, default=EntityKind.LIST)
    # list: [{"value": "large", "synonyms": ["big", "L"]}]
    values = models.JSONField(default=list, blank=True)
    pattern = models.CharField(max_length=500, blank=True)  # regex
    builtin = models.CharField(max_length=32, blank=True)  # number, date, email…
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "builder_entity"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint("assistant", Lower("name"), name="entity_name_unique")
        ]
        ordering = [Lower("name"), "id"]
        verbose_name_plural = "entities"

    def __str__(self) -> str:
        return self.name


class TrainingStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Training"
    DONE = "done", "Trained"
    FAILED = "failed", "Failed"


class TrainingRun(Job):
    """One training of an assistant's NLU from its draft data."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="training_runs")
    status = models.CharField(
        max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED
    )
    stage = models.CharField(max_length=32, blank=True)
    data_hash = models.CharField(max_length=64, blank=True)  # what it was trained on
    model_version = models.CharField(max_length=64, blank=True)  # in the NLU model registry
    metrics = models.JSONField(default=dict, blank=True)
    # Clarity and conflicts of the data it was trained on (nlu.analysis), added after training.
    analysis = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "builder_trainingrun"  # named when it lived in builder
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"training {self.pk} of {self.assistant} ({self.status})"
