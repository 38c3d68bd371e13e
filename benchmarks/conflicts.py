"""How well the conflict detector and the clarity score find real trouble in labelled data.

1. **Confused pairs**: the detector's top pairs are checked against the model's own k-fold
   errors (the product's k-fold evaluation: the full NLU model trained on the other folds).
2. **Clarity**: its rank correlation (Spearman) with each intent's k-fold F1 and error count; the
   least clear intents should be the ones the model gets wrong most.
3. **Injected utterances**: ``--inject`` utterances of intent A are relabelled as intent B, for
   a few random pairs (A with at least twice as many utterances, so that A keeps most of
   them); the report counts how many the detector flags as misplaced or duplicated.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from nlu.analysis import analyse
from nlu.data import OUT_OF_SCOPE, Example, read_jsonl
from nlu.evaluation import kfold_outcomes, report
from nlu.model import NluModel
from nlu.store import encoder_load

TOP_PAIRS = 20
FLAGGING_KINDS = ("misplaced", "duplicate", "near_duplicate")


def _flagged(analysis: dict[str, Any], texts: set[str], intent: str) -> set[str]:
    """Which of ``texts`` (labelled ``intent``) a conflict names as being in the wrong place."""
    return {
        row["text"]
        for conflict in analysis["conflicts"]
        if conflict["kind"] in FLAGGING_KINDS
        for row in conflict["utterances"]
        if row["intent"] == intent and row["text"] in texts
    }


def conflicts_benchmark(
    train_path: Path, *, folds: int = 5, inject: int = 30, trials: int = 3, seed: int = 0
) -> dict[str, Any]:
    from scipy.stats import spearmanr

    examples = [e for e in read_jsonl(train_path) if e.intent != OUT_OF_SCOPE]
    encoder = encoder_load()
    started = time.perf_counter()
    analysis = analyse(examples, encoder)
    analyse_seconds = time.perf_counter() - started

    outcomes = kfold_outcomes(
        examples,
        lambda part, progress: NluModel.train(part, encoder=encoder, progress=progress),
        folds=folds,
        seed=seed,
    )
    errors = Counter(
        frozenset((o.expected, o.predicted))
        for o in outcomes
        if not o.correct and o.predicted != OUT_OF_SCOPE
    )
    pairs = [c for c in analysis["conflicts"] if c["kind"] == "confused_pair"][:TOP_PAIRS]
    real = [c for c in pairs if errors[frozenset(c["intents"])] > 0]
    figures = report(outcomes)["per_intent"]
    wrong = Counter(o.expected for o in outcomes if not o.correct) + Counter(
        o.predicted for o in outcomes if not o.correct
    )
    names = sorted(analysis["intents"])
    clarity = [analysis["intents"][name]["clarity"] for name in names]
    by_f1 = spearmanr(clarity, [figures[name]["f1"] for name in names])
    by_errors = spearmanr(clarity, [wrong[name] for name in names])

    shuffle = random.Random(seed)  # noqa: S311 -- reproducible trials, not a secret
    counts = Counter(e.intent for e in examples)
    # A source keeps most of its examples (moving half an intent's utterances leaves no telling
    # which half is in the wrong place); a target has at least as many as are injected.
    sources = sorted(name for name, count in counts.items() if count >= 2 * inject + 5)
    targets = sorted(name for name, count in counts.items() if count >= inject)
    injections: list[dict[str, Any]] = []
    for _ in range(trials):
        source = shuffle.choice(sources)
        target = shuffle.choice([name for name in targets if name != source])
        moved = set(shuffle.sample(sorted(e.text for e in examples if e.intent == source), inject))
        relabelled = [
            Example(e.text, target, e.entities) if e.text in moved and e.intent == source else e
            for e in examples
        ]
        flagged = _flagged(analyse(relabelled, encoder), moved, target)
        injections.append(
            {"from": source, "into": target, "injected": len(moved), "flagged": len(flagged)}
        )
    return {
        "data": str(train_path),
        "utterances": len(examples),
        "intents": len(names),
        "analyse_seconds": round(analyse_seconds, 2),
        "clarity": analysis["clarity"],
        "conflicts": dict(Counter(c["kind"] for c in analysis["conflicts"])),
        "top_pairs": [
            {
                "intents": c["intents"],
                "score": c["score"],
                "kfold_errors": errors[frozenset(c["intents"])],
            }
            for c in pairs
        ],
        "top_pairs_real": len(real),
        "kfold_accuracy": report(outcomes)["accuracy"],
        "clarity_spearman_vs_kfold_f1": round(float(by_f1.statistic), 4),
        "clarity_spearman_vs_kfold_errors": round(float(by_errors.statistic), 4),
        "injections": injections,
        "injected_flagged_min": min(row["flagged"] for row in injections) if injections else None,
    }
