"""The hybrid understanding: when the in-house NLU is unsure of a turn, an LLM chooses among the
NLU's best intents. Live turns (``runtime.capabilities``) and the classifier comparison
(``quality.services.comparison``) both decide through here, so the comparison measures exactly
what the assistant does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.classify import Classified

HYBRID_CANDIDATES = 3  # the NLU's best intents the LLM chooses among


@dataclass(frozen=True)
class Hybrid:
    """Turns whose top NLU confidence is in ``[low, high)`` are decided by the LLM."""

    low: float
    high: float
    descriptions: dict[str, str]  # intent name: what it is for

    def offered(self, ranking: Sequence[tuple[str, float]]) -> list[tuple[str, str]]:
        """The (name, description) of the intents the LLM chooses among, best first, from the
        NLU's (intent, confidence) ranking; empty when the NLU is sure enough (or sure it is
        none of them) and decides alone."""
        best = list(ranking[:HYBRID_CANDIDATES])
        if not best or not self.low <= best[0][1] < self.high:
            return []
        return [(name, self.descriptions.get(name, "")) for name, _ in best]


@dataclass(frozen=True)
class Decision:
    intent: str | None  # None: out of scope
    decided_by: str  # "llm", or "nlu (…)" saying why the NLU's answer stood


def hybrid_decide(nlu_intent: str | None, choice: Classified | None, error: str = "") -> Decision:
    """The turn's intent once the LLM was asked: its choice among the offered intents (none of
    them is an answer too: out of scope); the NLU's own answer stands when the call failed
    (``choice`` None, ``error`` its kind) or the LLM named an intent that was not offered."""
    if choice is None:
        return Decision(nlu_intent, f"nlu (llm failed: {error})")
    if not choice.listed:
        return Decision(nlu_intent, "nlu (llm chose no listed intent)")
    return Decision(choice.intent, "llm")
