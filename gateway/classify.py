"""An LLM as an intent classifier: the intents' names and descriptions (and optional examples) in
the prompt, a structured answer naming one of them or none. The hybrid runtime and the classifier
comparison both ask through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

from gateway.calls import Completion, structured
from gateway.ledger import CallScope

NONE = "none"


class IntentChoice(pydantic.BaseModel):
    intent: str = pydantic.Field(description="One of the listed intent names, or none.")


@dataclass(frozen=True)
class Classified:
    intent: str | None  # one of the offered intents, or None: none fits (or an unlisted answer)
    listed: bool  # False: the model named an intent that was not offered
    completion: Completion


def classify_messages(
    text: str, intents: Sequence[tuple[str, str]], examples: Sequence[tuple[str, str]] = ()
) -> list[dict[str, str]]:
    """The prompt: every intent's name and description, then the examples, then ``text``."""
    listed = "\n".join(f"- {name}: {description or name}" for name, description in intents)
    shots = "".join(f"\nMessage: {said}\nIntent: {intent}" for said, intent in examples)
    system = (
        "You route a customer's message to the intent of a chatbot that fits it. The intents:\n"
        f"{listed}\n- {NONE}: none of these fits.\nAnswer with the intent's name only."
    )
    if shots:
        system += f"\n\nExamples:{shots}"
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def llm_classify(
    text: str,
    intents: Sequence[tuple[str, str]],
    *,
    scope: CallScope,
    examples: Sequence[tuple[str, str]] = (),
    **options: Any,
) -> Classified:
    """Which of ``intents`` ((name, description) pairs) ``text`` means; raises ``GatewayError``."""
    messages = classify_messages(text, intents, examples)
    options.setdefault("max_tokens", 40)
    answer = structured(messages, IntentChoice, scope=scope, untrusted=[text], **options)
    name = answer.value.intent.strip()
    names = {intent for intent, _ in intents}
    if name == NONE:
        return Classified(None, True, answer.completion)
    return Classified(name if name in names else None, name in names, answer.completion)
