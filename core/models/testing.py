"""Test cases creators write without code: conversation tests (user turns with what the
assistant must understand, do and say) and prompt test cases (input values with checks on the
output). Their runs and reports live in ``quality``."""

from __future__ import annotations

from django.db import models

from core.models.assistants import Assistant
from core.models.prompts import Prompt

DEFAULT_SUITE = "default"


class ConversationTest(models.Model):
    """A scripted conversation with the draft assistant: user turns, each with expectations on
    how it was understood and answered (see ``quality.services.conversation_tests``)."""

    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="conversation_tests"
    )
    name = models.CharField(max_length=200)
    suite = models.CharField(max_length=64, default=DEFAULT_SUITE)
    # [{"user": "hi", "button": false, "expect": [{"kind": "intent", "value": "greet"}, ...]}]
    turns = models.JSONField(default=list)
    # Saved from a conversation (test panel or production transcript).
    source_conversation = models.ForeignKey(
        "runtime.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "builder_conversationtest"  # named when it lived in builder
        ordering = ["suite", "name", "id"]

    def __str__(self) -> str:
        return self.name


class PromptTestCase(models.Model):
    """Input values for a prompt and the checks its output must pass (see
    ``quality.services.prompt_tests`` for the kinds of check)."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    values = models.JSONField(default=dict)  # {variable: value}
    checks = models.JSONField(default=list)  # [{"kind": "contains", "value": "refund"}, ...]
    # A backtest: the production call whose failure it replays.
    source_call = models.ForeignKey(
        "gateway.Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "builder_prompttestcase"  # named when it lived in builder
        ordering = ["prompt_id", "id"]

    def __str__(self) -> str:
        return self.name
