"""The model catalogue's starting rows, and which model a call uses.

The bundled local model is always there. ``OPENAI_API_KEY`` (and ``OPENAI_BASE_URL`` for any
OpenAI-compatible server) adds that provider with the models in ``OPENAI_MODELS``; the first becomes
the default and falls back to the local model. Prices are a starting point, editable in the
catalogue; a model with no known price costs "unknown", never zero.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from gateway.models import LlmModel, Provider, ProviderKind

LOCAL_MODEL_KEY = "local:smollm2-135m"

# Dollars per million input / output tokens and context windows, as published by OpenAI.
KNOWN_MODELS: dict[str, tuple[Decimal, Decimal, int]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"), 128_000),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00"), 128_000),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60"), 1_047_576),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40"), 1_047_576),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00"), 1_047_576),
}


@transaction.atomic
def catalogue_sync() -> None:
    """Create the local model and, when configured, the OpenAI-compatible provider's models."""
    local, _ = Provider.objects.get_or_create(
        key="local", defaults={"kind": ProviderKind.LOCAL, "api_key_env": ""}
    )
    local_model, _ = LlmModel.objects.get_or_create(
        key=LOCAL_MODEL_KEY,
        defaults={
            "provider": local,
            "name": "SmolLM2-135M-Instruct",
            "input_price": Decimal(0),
            "output_price": Decimal(0),
            "context_window": 4096,
            "supports_json_schema": True,  # llama.cpp enforces the schema with a grammar
        },
    )
    if not (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL):
        return
    remote, _ = Provider.objects.update_or_create(
        key="openai",
        defaults={
            "kind": ProviderKind.OPENAI,
            "base_url": settings.OPENAI_BASE_URL or "",
            "api_key_env": "OPENAI_API_KEY",
        },
    )
    official = not settings.OPENAI_BASE_URL or "api.openai.com" in settings.OPENAI_BASE_URL
    for name in settings.OPENAI_MODELS:
        input_price, output_price, window = KNOWN_MODELS.get(name, (None, None, 8192))
        LlmModel.objects.get_or_create(
            key=f"openai:{name}",
            defaults={
                "provider": remote,
                "name": name,
                "input_price": input_price if official else None,
                "output_price": output_price if official else None,
                "context_window": window,
                "supports_json_schema": official and name in KNOWN_MODELS,
                "fallback": local_model,
            },
        )


def default_model() -> LlmModel:
    """``LLM_DEFAULT_MODEL`` if set, else the first OpenAI model when configured, else local."""
    key = settings.LLM_DEFAULT_MODEL
    if not key and (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL):
        key = f"openai:{settings.OPENAI_MODELS[0]}"
    models = LlmModel.objects.select_related("provider")
    model = models.filter(key=key or LOCAL_MODEL_KEY).first()
    if model is None:
        catalogue_sync()
        model = models.filter(key=key or LOCAL_MODEL_KEY).first()
    return model or models.get(key=LOCAL_MODEL_KEY)
