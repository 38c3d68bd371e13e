"""How separable an assistant's intents are, and which utterances blur them.

Two kinds of evidence, both about utterances the model did not learn from:

- **out-of-fold probabilities**: each utterance scored by a classifier trained on the other folds,
  so an utterance that reads like another intent is given to that intent;
- **nearest neighbours** in the encoder's space: the utterances most like it, and whose they are.

From them:

- **clarity** per intent: the F1 of the out-of-fold predictions, 0 to 100 (how many of its
  utterances the model still recognises without having seen them, and how often its answer
  "this intent" is right), with the mean margin of its utterances' probability over the next
  intent's, a plain-language explanation and the utterances that drag it down; the assistant's
  clarity is the mean over its intents;
- **conflicts**: the same utterance in two intents, near duplicates across intents, utterances
  that sit with another intent (misplaced), and intent pairs the model confuses.

Everything here is numpy over vectors and labels; the builder turns it into pages and fixes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlu.data import OUT_OF_SCOPE, Example, normalised
from nlu.encoder import Encoder
from nlu.intents import IntentConfig, out_of_fold

NEAR_DUPLICATE = 0.95  # cosine similarity above which two utterances say the same thing
NEIGHBOURS = 5
NEIGHBOUR_EVIDENCE_FROM = 2 * NEIGHBOURS  # examples an intent needs for neighbours alone to count
LOW_MARGIN = 0.3  # mean probability lead over the next intent below which an intent is fragile
CLOSE_TO_OTHER = 0.75  # a candidate this similar to another intent's example reads as that intent
FOLDS = 5
PAIR_MIN_SCORE = 0.02  # confused pairs below this share of misplaced probability are noise
MAX_PAIRS = 50
MAX_MISPLACED = 1000
MAX_DRAGGING = 5
MAX_PAIR_UTTERANCES = 8


class NotAnalysable(ValueError):
    """Too little data to say anything: fewer than two intents with two utterances each."""


@dataclass(frozen=True)
class Neighbours:
    """Each utterance's most similar other utterances: indices and cosine similarities."""

    index: np.ndarray  # (n, k) int
    similarity: np.ndarray  # (n, k) float


def nearest(
    queries: np.ndarray, vectors: np.ndarray, k: int, *, exclude_self: bool = False
) -> Neighbours:
    """The ``k`` most similar rows of ``vectors`` for each query, in blocks to bound memory."""
    k = min(k, len(vectors) - (1 if exclude_self else 0))
    indices = np.zeros((len(queries), max(k, 0)), dtype=np.int64)
    similarities = np.zeros((len(queries), max(k, 0)), dtype=np.float32)
    if k <= 0:
        return Neighbours(indices, similarities)
    block = 1024
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ vectors.T
        if exclude_self:
            rows = np.arange(len(scores))
            scores[rows, start + rows] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1)
        indices[start : start + block] = np.take_along_axis(top, order, axis=1)
        similarities[start : start + block] = np.take_along_axis(top_scores, order, axis=1)
    return Neighbours(indices, similarities)


def analyse(
    examples: Sequence[Example],
    encoder: Encoder,
    *,
    config: IntentConfig | None = None,
    folds: int = FOLDS,
) -> dict[str, Any]:
    """Clarity and conflicts of labelled utterances (out-of-scope examples are left out)."""
    examples = [example for example in examples if example.intent != OUT_OF_SCOPE]
    counts = Counter(example.intent for example in examples)
    if sum(1 for count in counts.values() if count >= 2) < 2:
        raise NotAnalysable("Clarity needs at least two intents with two or more utterances each.")
    texts = [example.text for example in examples]
    labels = [example.intent for example in examples]
    vectors = encoder.embed(texts)
    config = config or IntentConfig(tol=1e-3, prototypes=0)  # clarity needs no nearness
    probabilities, _ = out_of_fold(vectors, texts, labels, config=config, folds=folds)
    return Analysis(texts, labels, vectors, probabilities).report()


class Analysis:
    def __init__(
        self,
        texts: list[str],
        labels: list[str],
        vectors: np.ndarray,
        probabilities: np.ndarray,
    ) -> None:
        self.texts = texts
        self.labels = labels
        self.vectors = vectors
        self.probabilities = probabilities
        self.intents = sorted(set(labels))
        self.column = {name: i for i, name in enumerate(self.intents)}
        self.own = np.asarray([self.column[label] for label in labels])
        rows = np.arange(len(labels))
        self.own_probability = probabilities[rows, self.own]
        self.predicted = probabilities.argmax(axis=1)
        self.neighbours = nearest(vectors, vectors, NEIGHBOURS, exclude_self=True)
        self.sizes = Counter(labels)

    def report(self) -> dict[str, Any]:
        intents = self._clarity()
        scores = [row["clarity"] for row in intents.values()]
        conflicts = [
            *self._duplicates(),
            *self._misplaced(),
            *self._confused_pairs(),
        ]
        return {
            "clarity": round(float(np.mean(scores)), 1),
            "explanation": _assistant_explanation(intents),
            "intents": intents,
            "conflicts": conflicts,
            "utterances": len(self.texts),
        }

    # --- clarity --------------------------------------------------------------------------
    def _clarity(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for name in self.intents:
            column = self.column[name]
            mine = self.own == column
            recall = float((self.predicted[mine] == column).mean())
            answered = self.predicted == column
            precision = float((self.own[answered] == column).mean()) if answered.any() else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            others = self.probabilities[mine].copy()
            others[:, column] = 0.0
            margin = float((self.probabilities[mine, column] - others.max(axis=1)).mean())
            confused_with = Counter(
                self.intents[p] for p in self.predicted[mine] if p != column
            ) + Counter(self.labels[i] for i in np.flatnonzero(answered & ~mine))
            result[name] = {
                "clarity": round(100 * f1, 1),
                "recall": round(recall, 4),
                "precision": round(precision, 4),
                "margin": round(margin, 4),
                "utterances": int(mine.sum()),
                "confused_with": [
                    {"intent": other, "count": count}
                    for other, count in confused_with.most_common(3)
                ],
                "dragging": self._dragging(name),
            }
            result[name]["explanation"] = _intent_explanation(name, result[name])
        return result

    def _dragging(self, name: str) -> list[dict[str, Any]]:
        """The intent's utterances the model gives least to it, and other intents' utterances
        it pulls in most: the examples to look at first."""
        column = self.column[name]
        rows = []
        for i in np.flatnonzero(self.own == column):
            if self.predicted[i] != column:
                rows.append((float(self.probabilities[i, self.predicted[i]]), i, "looks like"))
        for i in np.flatnonzero((self.own != column) & (self.predicted == column)):
            rows.append((float(self.probabilities[i, column]), i, "pulled in from"))
        rows.sort(key=lambda row: -row[0])
        return [
            {
                "text": self.texts[i],
                "intent": self.labels[i],
                "predicted": self.intents[self.predicted[i]],
                "confidence": round(score, 4),
                "relation": relation,
            }
            for score, i, relation in rows[:MAX_DRAGGING]
        ]

    # --- conflicts ------------------------------------------------------------------------
    def _duplicates(self) -> list[dict[str, Any]]:
        conflicts: list[dict[str, Any]] = []
        by_text: dict[str, list[int]] = defaultdict(list)
        for i, text in enumerate(self.texts):
            by_text[normalised(text)].append(i)
        exact: set[frozenset[int]] = set()
        for rows in by_text.values():
            if len({self.labels[i] for i in rows}) > 1:
                exact.add(frozenset(rows))
                conflicts.append(
                    self._conflict(
                        "duplicate",
                        rows,
                        f"“{self.texts[rows[0]]}” is an example of "
                        f"{_names(sorted({self.labels[i] for i in rows}))}: keep it in one.",
                        score=1.0,
                    )
                )
        seen: set[tuple[int, int]] = set()
        for i in range(len(self.texts)):
            for j, similarity in zip(
                self.neighbours.index[i], self.neighbours.similarity[i], strict=True
            ):
                j = int(j)
                pair = (min(i, j), max(i, j))
                if (
                    similarity < NEAR_DUPLICATE
                    or self.labels[i] == self.labels[j]
                    or pair in seen
                    or any(set(pair) <= rows for rows in exact)
                ):
                    continue
                seen.add(pair)
                conflicts.append(
                    self._conflict(
                        "near_duplicate",
                        list(pair),
                        f"“{self.texts[i]}” ({self.labels[i]}) and “{self.texts[j]}” "
                        f"({self.labels[j]}) say nearly the same thing "
                        f"({similarity:.2f} similar): keep one, or reword it.",
                        score=float(similarity),
                    )
                )
        return conflicts

    def _misplaced(self) -> list[dict[str, Any]]:
        """Utterances that sit with another intent, on either evidence:

        - the model trained without them says that intent, and more of their nearest
          neighbours are that intent's than their own (the neighbours keep an utterance that a
          stray copy nearby pulls away from its rightful intent from being flagged with it);
        - or more of their nearest neighbours are one other intent's than their own, where
          their intent has enough examples for that to mean something.

        Ranked by the mean of the two evidences: that intent's out-of-fold probability and its
        share of the neighbours."""
        found = []
        for row in range(len(self.texts)):
            own = self.labels[row]
            near = Counter(self.labels[j] for j in self.neighbours.index[row])
            predicted = self.intents[self.predicted[row]]
            if predicted != own and near[predicted] > near[own]:
                other, said = predicted, True
            else:
                rivals = [(count, name) for name, count in near.items() if name != own]
                if (
                    self.sizes[own] < NEIGHBOUR_EVIDENCE_FROM
                    or not rivals
                    or max(rivals)[0] <= near[own]
                ):
                    continue
                other, said = max(rivals)[1], False
            probability = float(self.probabilities[row, self.column[other]])
            share = near[other] / max(1, len(self.neighbours.index[row]))
            found.append(((probability + share) / 2, row, other, said, probability, near[other]))
        found.sort(key=lambda item: (-item[0], item[1]))
        conflicts = []
        for score, i, other, said, probability, neighbours in found[:MAX_MISPLACED]:
            own = self.labels[i]
            close = [int(j) for j in self.neighbours.index[i] if self.labels[j] == other]
            if said:
                reason = (
                    f"“{self.texts[i]}” is an example of {own}, but the model trained without "
                    f"it says {other} ({probability:.0%}, {own} {self.own_probability[i]:.0%}); "
                    f"its closest examples are {other}'s, like “{self.texts[close[0]]}”"
                )
            else:
                reason = (
                    f"“{self.texts[i]}” is an example of {own}, but {neighbours} of the "
                    f"{len(self.neighbours.index[i])} examples closest to it are {other}'s, "
                    f"like “{self.texts[close[0]]}”"
                )
            conflicts.append(
                self._conflict(
                    "misplaced",
                    [i],
                    reason + f". Move it to {other}, reword it or delete it.",
                    score=score,
                    suggested_intent=other,
                    similar=[self.texts[j] for j in close[:3]],
                )
            )
        return conflicts

    def _confused_pairs(self) -> list[dict[str, Any]]:
        """Intent pairs ranked by the probability the out-of-fold model moves between them:
        the mean, over both intents' utterances, of the probability given to the other one;
        only pairs where at least one utterance goes to the other intent."""
        n = len(self.intents)
        mass = np.zeros((n, n))  # mass[a, b]: probability a's utterances give to b
        np.add.at(mass, self.own, self.probabilities)
        sizes = np.bincount(self.own, minlength=n).astype(float)
        pairs = []
        for a in range(n):
            for b in range(a + 1, n):
                score = (mass[a, b] + mass[b, a]) / (sizes[a] + sizes[b])
                if score >= PAIR_MIN_SCORE:
                    pairs.append((float(score), a, b))
        pairs.sort(key=lambda row: (-row[0], row[1], row[2]))
        conflicts = []
        for score, a, b in pairs:
            crossing = [
                int(i)
                for i in np.flatnonzero(np.isin(self.own, [a, b]))
                if self.predicted[i] in (a, b) and self.predicted[i] != self.own[i]
            ]
            if not crossing:  # probability shared, but no utterance actually goes astray
                continue
            crossing.sort(key=lambda i: -self.probabilities[i, self.predicted[i]])
            names = (self.intents[a], self.intents[b])
            conflicts.append(
                self._conflict(
                    "confused_pair",
                    crossing[:MAX_PAIR_UTTERANCES],
                    f"The model mixes up {names[0]} and {names[1]}: {len(crossing)} of their "
                    f"{int(sizes[a] + sizes[b])} utterances go to the other one when it has not "
                    "seen them. Describe the difference in their examples, move the ones that "
                    "belong to the other, or merge them if they mean the same.",
                    score=score,
                    intents=list(names),
                )
            )
            if len(conflicts) == MAX_PAIRS:
                break
        return conflicts

    def _conflict(
        self,
        kind: str,
        rows: Sequence[int],
        message: str,
        *,
        score: float,
        intents: list[str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "kind": kind,
            "score": round(score, 4),
            "intents": intents or sorted({self.labels[i] for i in rows}),
            "message": message,
            "utterances": [
                {
                    "text": self.texts[i],
                    "intent": self.labels[i],
                    "predicted": self.intents[self.predicted[i]],
                    "confidence": round(float(self.probabilities[i, self.predicted[i]]), 4),
                }
                for i in rows
            ],
            **extra,
        }


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def band(clarity: float) -> str:
    if clarity >= 90:
        return "clear"
    if clarity >= 75:
        return "mostly clear"
    if clarity >= 50:
        return "often confused"
    return "unclear"


def _intent_explanation(name: str, row: dict[str, Any]) -> str:
    text = (
        f"{name} is {band(row['clarity'])} ({row['clarity']:.0f}/100): trained without each of "
        f"its {row['utterances']} utterances, the model still recognises {row['recall']:.0%} of "
        f"them, and is right {row['precision']:.0%} of the times it answers {name}."
    )
    if row["margin"] < LOW_MARGIN:
        text += " Its examples win by a small margin: a few more varied ones would help."
    if row["confused_with"]:
        top = row["confused_with"][0]
        text += f" It is most often mixed up with {top['intent']} ({top['count']} utterances)."
    return text


def _assistant_explanation(intents: dict[str, dict[str, Any]]) -> str:
    clear = sum(1 for row in intents.values() if row["clarity"] >= 90)
    weakest = sorted(intents, key=lambda name: intents[name]["clarity"])[:3]
    text = f"{clear} of {len(intents)} intents are clear."
    unclear = [name for name in weakest if intents[name]["clarity"] < 90]
    if unclear:
        text += f" The least clear: {_names(unclear)}; their examples overlap with other intents'."
    return text


def placement(
    vectors: np.ndarray,
    intent: str,
    known_vectors: np.ndarray,
    known_labels: Sequence[str],
    known_texts: Sequence[str],
) -> list[dict[str, Any] | None]:
    """For candidate utterances of ``intent``: None where they fit it, else the intent whose
    examples they sit with and the closest of those, as the reason.

    A candidate sits with another intent when most of its nearest examples are that intent's
    (once ``intent`` has enough examples for a majority to mean something), or when it is
    closer to one of that intent's examples than to any of its own, and close (a new intent with
    no examples yet is judged by this alone).
    """
    if not len(known_vectors):
        return [None] * len(vectors)
    labels = np.asarray(known_labels)
    own = labels == intent
    enough = int(own.sum()) >= NEIGHBOURS
    similarities = vectors @ known_vectors.T
    result: list[dict[str, Any] | None] = []
    for row in similarities:
        order = np.argsort(-row)
        other = next((int(j) for j in order if not own[j]), None)
        if other is None:
            result.append(None)
            continue
        winner = Counter(labels[order[:NEIGHBOURS]].tolist()).most_common(1)[0][0]
        own_best = float(row[own].max()) if own.any() else -1.0
        if enough and winner != intent:
            other = next(int(j) for j in order if labels[j] == winner)
        elif not (row[other] >= CLOSE_TO_OTHER and row[other] > own_best):
            result.append(None)
            continue
        result.append(
            {
                "intent": str(labels[other]),
                "similar": known_texts[other],
                "similarity": round(float(row[other]), 4),
            }
        )
    return result
