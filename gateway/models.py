"""The model catalogue and the ledger of every LLM call.

A ``Provider`` is an endpoint (the bundled local model, or any OpenAI-compatible server); an
``LlmModel`` is one model it serves, with its prices and context window, and the model to fall back
to when it fails. Each gateway call is a ``Call`` (the full chain, PII redacted) with one
``Attempt`` per request sent to a provider: the usage and cost ledger.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models

MILLION = Decimal(1_000_000)


class ProviderKind(models.TextChoices):
    LOCAL = "local", "Bundled local model"
    OPENAI = "openai", "OpenAI-compatible endpoint"


class Provider(models.Model):
    key = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    base_url = models.URLField(blank=True, help_text="Blank: OpenAI's own API.")
    # The key itself stays in the environment; the catalogue only names the variable.
    api_key_env = models.CharField(max_length=64, blank=True, default="OPENAI_API_KEY")

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class LlmModel(models.Model):
    key = models.CharField(
        max_length=128, unique=True, help_text="provider:model, e.g. openai:gpt-4o"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=128, help_text="The model's name at the provider.")
    # Prices in US dollars per million tokens; empty means unknown, and so is the cost.
    input_price = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    output_price = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    context_window = models.PositiveIntegerField(default=8192)
    supports_json_schema = models.BooleanField(
        default=False, help_text="Strict JSON-schema output (OpenAI structured outputs)."
    )
    fallback = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal | None:
        """Dollars for these tokens, or None when a price is unknown (never a made-up zero)."""
        if self.input_price is None or self.output_price is None:
            return None
        return (input_tokens * self.input_price + output_tokens * self.output_price) / MILLION


class Purpose(models.TextChoices):
    GENERATE = "generate", "Generate"
    KB = "kb", "Knowledge base"
    SYNTHESIS = "synthesis", "Training data synthesis"
    CLASSIFY = "classify", "Classify"
    JUDGE = "judge", "Guardrail judge"
    TEST = "test", "Test"


class Outcome(models.TextChoices):
    OK = "ok", "OK"
    PARTIAL = "partial", "Partial (stream broken)"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"
    TRUNCATED = "truncated", "Truncated"
    INVALID = "invalid", "Invalid output"
    BLOCKED = "blocked", "Blocked before sending"
    CANCELLED = "cancelled", "Cancelled by the caller"


class Call(models.Model):
    """One gateway call as the caller saw it: the whole chain, for audits and debugging."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, null=True, related_name="llm_calls"
    )
    assistant = models.ForeignKey(
        "core.Assistant", on_delete=models.SET_NULL, null=True, related_name="llm_calls"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    prompt_version = models.ForeignKey(
        "core.PromptVersion", on_delete=models.SET_NULL, null=True, related_name="llm_calls"
    )
    inputs = models.JSONField(default=dict, blank=True)  # prompt variables, PII redacted
    messages = models.JSONField(default=list)  # as sent, PII redacted
    output = models.TextField(blank=True)  # PII redacted
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error_kind = models.CharField(max_length=32, blank=True)
    guards = models.JSONField(default=dict, blank=True)  # each guardrail's verdict
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} call {self.id} ({self.outcome})"


class Attempt(models.Model):
    """One request to one provider (or one cache hit): a row of the usage and cost ledger."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, null=True, related_name="+"
    )
    assistant = models.ForeignKey(
        "core.Assistant", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    prompt_version = models.ForeignKey(
        "core.PromptVersion", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)  # catalogue key, kept if the catalogue row goes
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    usage_estimated = models.BooleanField(
        default=False, help_text="The provider's numbers were missing or implausible."
    )
    cost = models.DecimalField(max_digits=16, decimal_places=8, null=True)
    first_token_ms = models.FloatField(null=True)
    total_ms = models.FloatField()
    cache_hit = models.BooleanField(default=False)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error_kind = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-number"]
        indexes = [
            models.Index(fields=["workspace", "created_at"]),
            models.Index(fields=["assistant", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.call_id} on {self.model} ({self.outcome})"


class SemanticCacheEntry(models.Model):
    """An answer worth reusing for a question that means the same, within one scope only."""

    scope = models.CharField(max_length=64, db_index=True)  # hashes workspace, assistant, model…
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    question = models.TextField()
    embedding = models.BinaryField()  # float32, unit length
    answer = models.TextField()
    finish_reason = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.question[:60]
