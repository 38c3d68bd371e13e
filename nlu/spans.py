"""The trainable span extractor: a linear-chain CRF over word tokens, learnt from annotations.

Training uses CRFsuite (L-BFGS, elastic-net); serving reads the learnt weights from safetensors and
runs Viterbi in numpy, so the serving path has no CRFsuite and no pickle. Features are the word, its
affixes and shape, its neighbours, and the utterance's intent: on SNIPS the intent feature is what
tells a "playlist" from a "music item" in the same words. Gazetteers of training values were tried
and hurt (0.81 vs 0.95 F1 on SNIPS): the CRF learns to trust a lookup that every training value
passes and unseen test values fail.
"""

from __future__ import annotations

import copy
import functools
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlu.data import Example
from nlu.files import component_read, component_write

TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")
OUTSIDE = "O"


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    text: str


def tokenize(text: str) -> list[Token]:
    return [Token(match.group(), match.start(), match.end()) for match in TOKEN.finditer(text)]


def bio_labels(example: Example, tokens: list[Token]) -> list[str]:
    """B-/I- labels for the tokens that fall inside an annotated span, O for the rest."""
    labels = [OUTSIDE] * len(tokens)
    for span in example.entities:
        inside = [i for i, t in enumerate(tokens) if t.start >= span.start and t.end <= span.end]
        for position, index in enumerate(inside):
            labels[index] = f"{'B' if position == 0 else 'I'}-{span.entity}"
    return labels


@functools.lru_cache(maxsize=65_536)
def _shape(word: str) -> str:
    shape = re.sub("[A-Z]", "X", word)
    shape = re.sub("[a-z]", "x", shape)
    shape = re.sub("[0-9]", "d", shape)
    return re.sub(r"(.)\1+", r"\1\1", shape)


def token_features(tokens: list[Token], intent: str | None) -> list[list[str]]:
    """The attributes of each token, as CRFsuite and the numpy tagger both read them."""
    words = [token.text for token in tokens]
    lower = [word.lower() for word in words]
    intent = intent or "?"
    count = len(words)
    features = []
    for i, word in enumerate(lower):
        attributes = [
            "bias",
            f"w={word}",
            f"s3={word[-3:]}",
            f"s2={word[-2:]}",
            f"p3={word[:3]}",
            f"shape={_shape(words[i])}",
            f"intent={intent}",
            f"intent|w={intent}|{word}",
            f"w-1|w={lower[i - 1] if i > 0 else '<s>'}|{word}",
            f"w|w+1={word}|{lower[i + 1] if i + 1 < count else '</s>'}",
        ]
        for offset in (-2, -1, 1, 2):
            j = i + offset
            attributes.append(f"w{offset:+d}={lower[j] if 0 <= j < count else '<pad>'}")
        if words[i][:1].isupper():
            attributes.append("title")
        if word.isdigit():
            attributes.append("digit")
        features.append(attributes)
    return features


def spans_from_labels(text: str, tokens: list[Token], labels: list[str]) -> list[Span]:
    """Join B-/I- runs into spans; an I- that does not continue its entity starts a new span."""
    runs: list[tuple[int, int, str]] = []  # start, end, entity
    inside = False
    for token, label in zip(tokens, labels, strict=True):
        tag, _, entity = label.partition("-")
        if tag == "I" and inside and runs[-1][2] == entity:
            runs[-1] = (runs[-1][0], token.end, entity)
        elif tag in ("B", "I"):
            runs.append((token.start, token.end, entity))
        inside = tag in ("B", "I")
    return [Span(start, end, entity, text[start:end]) for start, end, entity in runs]


@dataclass(frozen=True)
class SpanConfig:
    c1: float = 0.05  # L1 strength: keeps the weight table small
    c2: float = 0.01  # L2 strength
    max_iterations: int = 40  # L-BFGS steps; 40 gave the best SNIPS F1 of 40/80/150


class SpanExtractor:
    """Learns entity spans from annotated utterances; tags new ones with numpy Viterbi."""

    def __init__(self, config: SpanConfig | None = None) -> None:
        self.config = config or SpanConfig()
        self.labels: list[str] = []
        self.attributes: dict[str, int] = {}
        self.offsets = np.zeros(
            1, dtype=np.int64
        )  # attribute i's weights: [offsets[i], offsets[i+1])
        self.state_labels = np.zeros(0, dtype=np.int64)
        self.state_weights = np.zeros(0, dtype=np.float32)
        self.transitions = np.zeros((0, 0), dtype=np.float32)
        self.state_matrix = np.zeros((0, 0), dtype=np.float32)
        # The labels each intent was annotated with (plus O): decoding keeps to them, which is
        # both what the creator taught and four times less work than all labels.
        self.intent_labels: dict[str, list[int]] = {}
        self._transitions_by_intent: dict[str, np.ndarray] = {}
        # Intents whose annotations changed since the last joint training, each tagged by an
        # extractor of its own, learnt from that intent's utterances alone (``refit``).
        self.refitted: dict[str, SpanExtractor] = {}

    @property
    def entity_types(self) -> list[str]:
        types = {label[2:] for label in self.labels if label != OUTSIDE}
        for own in self.refitted.values():
            types.update(own.entity_types)
        return sorted(types)

    def train(self, examples: list[Example]) -> SpanExtractor:
        import pycrfsuite

        trainer = pycrfsuite.Trainer(verbose=False)
        for example in examples:
            tokens = tokenize(example.text)
            if tokens:
                trainer.append(token_features(tokens, example.intent), bio_labels(example, tokens))
        trainer.set_params(
            {
                "c1": self.config.c1,
                "c2": self.config.c2,
                "max_iterations": self.config.max_iterations,
                "feature.possible_transitions": True,
            }
        )
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "spans.crfsuite")
            trainer.train(path)
            tagger = pycrfsuite.Tagger()
            tagger.open(path)
            info = tagger.info()
            self.labels = sorted(tagger.labels())
            tagger.close()
        self._index_weights(info.state_features, info.transitions)
        index = {label: i for i, label in enumerate(self.labels)}
        allowed: dict[str, set[int]] = {}
        for example in examples:
            labels = allowed.setdefault(
                example.intent, {index[OUTSIDE]} if OUTSIDE in index else set()
            )
            for span in example.entities:
                labels.update(
                    index[f"{tag}-{span.entity}"] for tag in "BI" if f"{tag}-{span.entity}" in index
                )
        self.intent_labels = {intent: sorted(labels) for intent, labels in allowed.items()}
        return self

    def refit(self, examples: list[Example], intents: set[str]) -> SpanExtractor:
        """A copy that tags ``intents`` with extractors of their own, each learnt from that
        intent's utterances alone; the other intents keep the joint weights.

        The quick retrain after an edit: the joint training reads every utterance, half a
        minute to a minute on SNIPS's 13,784; one intent's takes a second or two. An intent
        learnt alone loses what other intents teach about shared entity types (on SNIPS, -0.36
        to +0.06 points of F1 with one intent refitted); the next joint training (a full one, or
        an edit that would set too many intents apart) joins them again.
        """
        refitted = copy.copy(self)
        refitted.refitted = dict(self.refitted)
        for intent in intents:
            own = [example for example in examples if example.intent == intent]
            refitted.refitted[intent] = (
                SpanExtractor(self.config).train(own)
                if any(example.entities for example in own)
                else SpanExtractor(self.config)  # nothing annotated: finds nothing
            )
        return refitted

    def _index_weights(
        self,
        state_features: dict[tuple[str, str], float],
        transitions: dict[tuple[str, str], float],
    ) -> None:
        label_index = {label: i for i, label in enumerate(self.labels)}
        by_attribute: dict[str, list[tuple[int, float]]] = {}
        for (attribute, label), weight in state_features.items():
            by_attribute.setdefault(attribute, []).append((label_index[label], weight))
        self.attributes = {attribute: i for i, attribute in enumerate(sorted(by_attribute))}
        offsets: list[int] = [0]
        state_labels: list[int] = []
        state_weights: list[float] = []
        for attribute in sorted(by_attribute):
            for column, weight in by_attribute[attribute]:
                state_labels.append(column)
                state_weights.append(weight)
            offsets.append(len(state_labels))
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.state_labels = np.asarray(state_labels, dtype=np.int64)
        self.state_weights = np.asarray(state_weights, dtype=np.float32)
        self.transitions = np.zeros((len(self.labels), len(self.labels)), dtype=np.float32)
        for (source, target), weight in transitions.items():
            self.transitions[label_index[source], label_index[target]] = weight
        self._densify()

    def _densify(self) -> None:
        """One row of label weights per attribute: a token's scores are then a sum of rows."""
        self.state_matrix = np.zeros((len(self.attributes), len(self.labels)), dtype=np.float32)
        rows = np.repeat(np.arange(len(self.attributes)), np.diff(self.offsets))
        self.state_matrix[rows, self.state_labels] = self.state_weights

    def tag(self, text: str, intent: str | None) -> list[Span]:
        """The entity spans in ``text``, given the intent the classifier chose."""
        own = self.refitted.get(intent or "")
        if own is not None:
            return own.tag(text, intent)
        if intent is not None and self.intent_labels and intent not in self.intent_labels:
            # Added by a quick retrain with nothing annotated: a full training would have
            # taught it no entity, so other intents' labels do not apply to it either.
            return []
        tokens = tokenize(text)
        if not tokens or not self.labels:
            return []
        lookup = self.attributes.get
        columns: list[int] = []
        counts: list[int] = []
        for attributes in token_features(tokens, intent):
            known = [index for index in map(lookup, attributes) if index is not None]
            columns.extend(known)
            counts.append(len(known))
        labels, transitions = self._decoding(intent)
        weights = (
            self.state_matrix[columns] if labels is None else self.state_matrix[columns][:, labels]
        )
        # A token's score is the sum of its attributes' rows; tokens with none score zero.
        scores = np.zeros((len(tokens), weights.shape[1]), dtype=np.float32)
        present = np.flatnonzero(counts)
        if len(present):
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
            scores[present] = np.add.reduceat(weights, starts, axis=0)
        path = self._viterbi(scores, transitions)
        names = self.labels if labels is None else [self.labels[i] for i in labels]
        return spans_from_labels(text, tokens, [names[i] for i in path])

    def _decoding(self, intent: str | None) -> tuple[list[int] | None, np.ndarray]:
        """The labels decoding keeps to for ``intent`` (None: all) and their transitions."""
        allowed = self.intent_labels.get(intent or "")
        if not allowed:
            return None, self.transitions
        cached = self._transitions_by_intent.get(intent or "")
        if cached is None:
            cached = self.transitions[np.ix_(allowed, allowed)]
            self._transitions_by_intent[intent or ""] = cached
        return allowed, cached

    @staticmethod
    def _viterbi(scores: np.ndarray, transitions: np.ndarray) -> list[int]:
        best = scores[0]
        back = np.zeros(scores.shape, dtype=np.int64)
        columns = np.arange(scores.shape[1])
        for row in range(1, len(scores)):
            candidates = best[:, None] + transitions
            back[row] = candidates.argmax(axis=0)
            best = candidates[back[row], columns] + scores[row]
        path = [int(best.argmax())]
        for row in range(len(scores) - 1, 0, -1):
            path.append(int(back[row, path[-1]]))
        return path[::-1]

    def save(self, directory: Path) -> None:
        attributes = sorted(self.attributes, key=self.attributes.__getitem__)
        state = {
            "config": asdict(self.config),
            "labels": self.labels,
            "attributes": attributes,
            "intent_labels": self.intent_labels,
            "refitted": sorted(self.refitted),
        }
        arrays: dict[str, np.ndarray] = {
            "offsets": self.offsets,
            "state_labels": self.state_labels,
            "state_weights": self.state_weights,
            "transitions": self.transitions,
        }
        component_write(directory, "spans", state, arrays)
        for number, intent in enumerate(state["refitted"]):
            self.refitted[intent].save(directory / "refitted" / str(number))

    @classmethod
    def load(cls, directory: Path) -> SpanExtractor:
        state, arrays = component_read(directory, "spans")
        extractor = cls(SpanConfig(**state["config"]))
        extractor.labels = state["labels"]
        extractor.intent_labels = state["intent_labels"]
        extractor.attributes = {attribute: i for i, attribute in enumerate(state["attributes"])}
        extractor.offsets = arrays["offsets"]
        extractor.state_labels = arrays["state_labels"]
        extractor.state_weights = arrays["state_weights"]
        extractor.transitions = arrays["transitions"]
        extractor._densify()
        extractor.refitted = {
            intent: cls.load(directory / "refitted" / str(number))
            for number, intent in enumerate(state.get("refitted", []))
        }
        return extractor
