"""Which model answers a call: the assistant's LLM settings (read fresh on every call) and the
model's fallback chain."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from core.models import Assistant
from gateway.catalogue import default_model
from gateway.models import LlmModel

MAX_CHAIN = 5  # a model and at most four fallbacks


@dataclass(frozen=True)
class Policy:
    model_id: int | None
    requests_per_minute: int | None
    tokens_per_minute: int | None
    monthly_budget: Decimal | None
    injection_judge: bool


NO_POLICY = Policy(None, None, None, None, False)


POLICY_COLUMNS = (
    "llm_model_id",
    "llm_requests_per_minute",
    "llm_tokens_per_minute",
    "llm_monthly_budget",
    "llm_injection_judge",
)


def policy_of(assistant_id: int | None) -> Policy:
    """The assistant's LLM settings, read fresh on every call (plain SQL: this is the hot path)."""
    if assistant_id is None:
        return NO_POLICY
    table = connection.ops.quote_name(Assistant._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(POLICY_COLUMNS)} FROM {table} WHERE id = %s",  # noqa: S608
            [assistant_id],
        )
        row = cursor.fetchone()
    if row is None:
        return NO_POLICY
    model_id, requests, tokens, budget, judge = row
    budget = None if budget is None else Decimal(str(budget))
    return Policy(model_id, requests, tokens, budget, bool(judge))


def model_resolve(model: LlmModel | str | None, policy: Policy) -> LlmModel:
    if isinstance(model, LlmModel):
        return model
    if isinstance(model, str):
        return LlmModel.objects.select_related("provider").get(key=model)
    if policy.model_id is not None:
        return LlmModel.objects.select_related("provider").get(pk=policy.model_id)
    return default_model()


def model_chain(first: LlmModel) -> list[LlmModel]:
    """The model and its fallbacks in order, each once."""
    chain = [first]
    while len(chain) < MAX_CHAIN and chain[-1].fallback_id is not None:
        fallback = LlmModel.objects.select_related("provider").get(pk=chain[-1].fallback_id)
        if any(model.pk == fallback.pk for model in chain):
            break
        chain.append(fallback)
    return chain
