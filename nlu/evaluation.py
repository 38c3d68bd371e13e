"""How well a model understands a labelled set: the figures of an evaluation report.

Outcomes come from a held-out split, from k-fold cross-validation (every utterance predicted by a
model that never saw it) or from a separate test set; ``report`` turns them into accuracy,
per-intent precision/recall/F1, entity F1 per type, out-of-scope precision/recall, the largest
confusions, a confidence histogram split into right and wrong, and the errors with their
alternatives. A no-match prediction counts as ``oos``.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nlu.data import OUT_OF_SCOPE, Example
from nlu.model import NluModel, Parse
from nlu.progress import Progress, progress_span

HISTOGRAM_BINS = 10
MAX_ERRORS = 500
Train = Callable[[list[Example], Progress], NluModel]  # a model of these, reporting its training


@dataclass(frozen=True)
class Outcome:
    text: str
    expected: str  # an intent, or "oos"
    predicted: str  # an intent, or "oos" for no match
    confidence: float
    alternatives: tuple[tuple[str, float], ...]  # the ranking after the prediction
    expected_entities: frozenset[tuple[int, int, str]]
    found_entities: frozenset[tuple[int, int, str]]

    @property
    def correct(self) -> bool:
        return self.expected == self.predicted


def outcome_of(example: Example, parse: Parse) -> Outcome:
    return Outcome(
        text=example.text,
        expected=example.intent,
        predicted=parse.intent or OUT_OF_SCOPE,
        confidence=round(parse.confidence, 4),
        alternatives=tuple(
            (match.name, round(match.confidence, 4))
            for match in parse.ranking
            if match.name != parse.intent
        )[:3],
        expected_entities=frozenset((s.start, s.end, s.entity) for s in example.entities),
        found_entities=frozenset((e.start, e.end, e.entity) for e in parse.entities),
    )


def outcomes_of(model: NluModel, examples: Sequence[Example]) -> list[Outcome]:
    parses = model.parse_batch([example.text for example in examples])
    return [outcome_of(example, parse) for example, parse in zip(examples, parses, strict=True)]


def split_holdout(
    examples: Sequence[Example], share: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """A stratified split: ``share`` of each intent's utterances (at least one, when it has two or
    more) held out; intents with a single utterance stay in training."""
    train, test = [], []
    for items in _by_intent(examples, seed).values():
        held = min(len(items) - 1, max(1, round(len(items) * share))) if len(items) > 1 else 0
        test.extend(items[:held])
        train.extend(items[held:])
    return train, test


def kfold_outcomes(
    examples: Sequence[Example],
    train: Train,
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Every utterance predicted by a model trained on the other folds (stratified by intent).

    Each fold's training reports its own stages within the fold's share of ``progress``
    (accurate mode fine-tunes an encoder per fold: minutes each).
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    assigned: list[list[Example]] = [[] for _ in range(folds)]
    offset = 0
    for items in _by_intent(examples, seed).values():
        for index, example in enumerate(items):
            assigned[(offset + index) % folds].append(example)
        offset += len(items)
    say = progress or _quiet
    outcomes: list[Outcome] = []
    for fold, test in enumerate(assigned):
        say(f"fold {fold + 1} of {folds}", fold / folds)
        if not test:
            continue
        rest = [example for other, part in enumerate(assigned) if other != fold for example in part]
        within = progress_span(
            say, fold / folds, (fold + 1) / folds, f"fold {fold + 1} of {folds}: "
        )
        outcomes.extend(outcomes_of(train(rest, within), test))
    return outcomes


def _quiet(stage: str, fraction: float) -> None:
    pass


def _by_intent(examples: Sequence[Example], seed: int) -> dict[str, list[Example]]:
    grouped: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        grouped[example.intent].append(example)
    shuffle = random.Random(seed)  # noqa: S311 -- a reproducible split, not a secret
    for items in grouped.values():
        shuffle.shuffle(items)
    return dict(sorted(grouped.items()))


def _prf(hits: int, predicted: int, actual: int) -> dict[str, float]:
    precision = hits / predicted if predicted else 0.0
    recall = hits / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def report(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The figures of an evaluation report (plain JSON)."""
    total = len(outcomes)
    in_scope = [o for o in outcomes if o.expected != OUT_OF_SCOPE]
    labels = sorted({o.expected for o in outcomes} | {o.predicted for o in outcomes})
    expected_count = Counter(o.expected for o in outcomes)
    predicted_count = Counter(o.predicted for o in outcomes)
    hits = Counter(o.expected for o in outcomes if o.correct)
    per_intent = {
        label: _prf(hits[label], predicted_count[label], expected_count[label])
        | {"support": expected_count[label]}
        for label in labels
        if label != OUT_OF_SCOPE
    }
    supported = [figures for figures in per_intent.values() if figures["support"]]
    confusions = Counter((o.expected, o.predicted) for o in outcomes if not o.correct)
    has_oos = OUT_OF_SCOPE in expected_count
    return {
        "utterances": total,
        "accuracy": round(sum(o.correct for o in outcomes) / total, 4) if total else None,
        "in_scope_accuracy": round(sum(o.correct for o in in_scope) / len(in_scope), 4)
        if in_scope
        else None,
        "macro_f1": round(sum(f["f1"] for f in supported) / len(supported), 4)
        if supported
        else None,
        "out_of_scope": _prf(
            hits[OUT_OF_SCOPE], predicted_count[OUT_OF_SCOPE], expected_count[OUT_OF_SCOPE]
        )
        | {"support": expected_count[OUT_OF_SCOPE], "predicted": predicted_count[OUT_OF_SCOPE]}
        if has_oos or predicted_count[OUT_OF_SCOPE]
        else None,
        "per_intent": per_intent,
        "entities": _entity_report(outcomes),
        "confusions": [
            {"expected": expected, "predicted": predicted, "count": count}
            for (expected, predicted), count in sorted(
                confusions.items(), key=lambda item: (-item[1], item[0])
            )
        ],
        "confidence_histogram": _histogram(outcomes),
        "errors": [
            {
                "text": o.text,
                "expected": o.expected,
                "predicted": o.predicted,
                "confidence": o.confidence,
                "alternatives": [{"intent": n, "confidence": c} for n, c in o.alternatives],
            }
            for o in sorted((o for o in outcomes if not o.correct), key=lambda o: -o.confidence)
        ][:MAX_ERRORS],
    }


def _entity_report(outcomes: Sequence[Outcome]) -> dict[str, Any] | None:
    if not any(o.expected_entities or o.found_entities for o in outcomes):
        return None
    found: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for o in outcomes:
        found.update(kind for _, _, kind in o.found_entities)
        actual.update(kind for _, _, kind in o.expected_entities)
        hits.update(kind for _, _, kind in o.found_entities & o.expected_entities)
    kinds = sorted(set(found) | set(actual))
    return {
        "micro": _prf(sum(hits.values()), sum(found.values()), sum(actual.values())),
        "per_type": {
            kind: _prf(hits[kind], found[kind], actual[kind]) | {"support": actual[kind]}
            for kind in kinds
        },
    }


def _histogram(outcomes: Sequence[Outcome]) -> dict[str, list[float] | list[int]]:
    edges = [round(i / HISTOGRAM_BINS, 2) for i in range(HISTOGRAM_BINS + 1)]
    correct = [0] * HISTOGRAM_BINS
    wrong = [0] * HISTOGRAM_BINS
    for o in outcomes:
        index = min(HISTOGRAM_BINS - 1, max(0, int(o.confidence * HISTOGRAM_BINS)))
        (correct if o.correct else wrong)[index] += 1
    return {"edges": edges, "correct": correct, "wrong": wrong}


def regression(before: Sequence[Outcome], after: Sequence[Outcome]) -> dict[str, Any]:
    """What changed between two models on the same utterances: accuracy, the intents whose F1
    dropped (worst first), and the utterances whose answer went from right to wrong or back."""
    old, new = report(before), report(after)
    worse = [
        {"intent": name, "f1_before": old["per_intent"][name]["f1"], "f1_after": figures["f1"]}
        for name, figures in new["per_intent"].items()
        if name in old["per_intent"] and figures["f1"] < old["per_intent"][name]["f1"]
    ]
    flipped = [
        {
            "text": b.text,
            "expected": b.expected,
            "before": b.predicted,
            "after": a.predicted,
            "now": "right" if a.correct else "wrong",
        }
        for b, a in zip(before, after, strict=True)
        if b.correct != a.correct
    ]
    return {
        "accuracy_before": old["accuracy"],
        "accuracy_after": new["accuracy"],
        "worse_intents": sorted(worse, key=lambda row: row["f1_after"] - row["f1_before"]),
        "now_wrong": [row for row in flipped if row["now"] == "wrong"][:MAX_ERRORS],
        "now_right": [row for row in flipped if row["now"] == "right"][:MAX_ERRORS],
    }
