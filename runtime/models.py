"""Conversations, every message in them, and what each user turn was understood as."""

from __future__ import annotations

import uuid

from django.db import models


class Channel(models.TextChoices):
    WIDGET = "widget", "Web chat widget"
    API = "api", "Dialog HTTP API"
    TEST = "test", "Builder test panel"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    assistant = models.ForeignKey(
        "core.Assistant", on_delete=models.CASCADE, related_name="conversations"
    )
    # What it runs: a published version, or the draft (the builder's test panel).
    version = models.ForeignKey(
        "core.AssistantVersion", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    end_user = models.CharField(max_length=64)  # an anonymous id the client keeps
    state = models.JSONField(default=dict)  # the dialog engine's State
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["assistant", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.assistant} with {self.end_user} ({self.channel})"


class Message(models.Model):
    """One frame of the conversation, numbered before it is sent, so a reconnecting client can
    ask for exactly what it missed."""

    # No index of its own: the unique (conversation, seq) index starts with it and serves the
    # same lookups, so every stored frame writes one index fewer.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    seq = models.PositiveIntegerField()
    from_user = models.BooleanField(default=False)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_message_per_seq")
        ]
        ordering = ["conversation_id", "seq"]

    def __str__(self) -> str:
        return f"#{self.seq} of {self.conversation_id}"


class TurnRecord(models.Model):
    """How one user message was understood and answered."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    seq = models.PositiveIntegerField()  # of its first frame: the user's message, or the greeting
    text = models.TextField(blank=True)
    intent = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(default=0.0)
    path = models.CharField(max_length=32)  # which rule decided, see runtime.engine
    entities = models.JSONField(default=list)
    ranking = models.JSONField(default=list)
    steps = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    knowledge = models.JSONField(null=True, blank=True)  # the knowledge-base lookup, if any
    decided_by = models.CharField(max_length=64, blank=True)  # nlu or llm (hybrid mode)
    llm = models.JSONField(default=list, blank=True)  # the turn's LLM calls: tokens, cost
    latency_ms = models.FloatField(default=0.0)
    nlu_ms = models.FloatField(null=True, blank=True)  # the in-house NLU's part of it
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation_id", "seq"]

    def __str__(self) -> str:
        return f"turn #{self.seq} of {self.conversation_id}: {self.intent or 'no match'}"


class Rating(models.TextChoices):
    UP = "up", "Helpful"
    DOWN = "down", "Not helpful"


class Feedback(models.Model):
    """An end user's thumbs up or down on one of the assistant's messages."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="feedback"
    )
    seq = models.PositiveIntegerField()  # of the rated message
    rating = models.CharField(max_length=8, choices=Rating.choices)
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_rating_per_message")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.rating} on #{self.seq} of {self.conversation_id}"
