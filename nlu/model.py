"""An assistant's trained NLU: an encoder plus its own intent classifier and threshold.

Fast mode reads the shared, packaged encoder; accurate mode first fine-tunes a copy of it on the
assistant's utterances (``nlu.finetune``) and keeps it with the model.

A trained model is a directory::

    manifest.json            labels, config, threshold, metrics, versions
    intents/                 the classifier's weights (safetensors) and vocabulary (JSON)
    spans/                   the entity span extractor (when utterances carry entity spans);
                             refitted/ holds intents re-learnt alone after an edit
    entities.json            list, regex and built-in entity definitions
    embeddings.safetensors   training utterances' vectors by content hash, for fast retraining
    encoder/                 accurate mode only: the encoder fine-tuned on these utterances

Nothing on the serving path is a pickle.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from nlu.calibration import Familiarity, threshold_choose
from nlu.data import OUT_OF_SCOPE, Example
from nlu.encoder import Encoder, text_key
from nlu.entities import Entity, EntityMatcher, resolve_overlaps
from nlu.finetune import FinetuneConfig, encoder_finetune
from nlu.intents import IntentClassifier, IntentConfig, out_of_fold
from nlu.progress import Progress, no_progress, progress_span
from nlu.spans import SpanConfig, SpanExtractor

MODEL_FORMAT = 1
MODES = ("fast", "accurate")
FINETUNE_SHARE = 0.8  # of accurate training's progress bar: fine-tuning is most of its time
MAX_TEXT_CHARS = 1000  # longer input is cut: no utterance that long carries more intent


@dataclass(frozen=True)
class IntentMatch:
    name: str
    confidence: float


@dataclass(frozen=True)
class Parse:
    """What the NLU understood of one utterance; ``intent`` is None for no match."""

    text: str
    intent: str | None
    confidence: float
    ranking: list[IntentMatch] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The one shape a parse is shown and stored in: the test panel's API, live turns and
        their transcripts."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "ranking": [
                {"intent": match.name, "confidence": round(match.confidence, 4)}
                for match in self.ranking
            ],
            "entities": [
                {
                    "entity": entity.entity,
                    "start": entity.start,
                    "end": entity.end,
                    "text": entity.text,
                    "value": entity.value,
                    "source": entity.source,
                }
                for entity in self.entities
            ],
        }


@dataclass(frozen=True)
class TrainingConfig:
    mode: str = "fast"  # or "accurate": fine-tune the encoder first (minutes, not seconds)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    intents: IntentConfig = field(default_factory=IntentConfig)
    spans: SpanConfig = field(default_factory=SpanConfig)
    calibration_folds: int = 3  # cross-validation folds when no validation set is given
    # A retrain re-fits only the edited intents when at most this share of them changed, and
    # keeps the threshold; below this many utterances a full training (recalibrated) is as quick.
    incremental_share: float = 0.05
    incremental_min_utterances: int = 1000
    # Accurate mode re-tunes the encoder once this share of the utterances changed since it was
    # tuned, or an intent came or went; smaller edits re-fit the heads on it in seconds.
    retune_share: float = 0.1
    top_k: int = 5
    finetune_threads: int | None = None  # cores fine-tuning may use; None: all of them


class NluModel:
    def __init__(
        self,
        encoder: Encoder,
        classifier: IntentClassifier,
        *,
        spans: SpanExtractor | None = None,
        matcher: EntityMatcher | None = None,
        threshold: float,
        familiarity: Familiarity | None = None,
        manifest: dict[str, Any],
        training_vectors: dict[str, np.ndarray] | None = None,
        training_pairs: list[tuple[str, str]] | None = None,
    ) -> None:
        self.encoder = encoder
        self.classifier = classifier
        self.spans = spans
        self.matcher = matcher or EntityMatcher()
        self.threshold = threshold
        self.familiarity = familiarity
        self.manifest = manifest
        # The training utterances' vectors by content hash, and (hash, intent) pairs: the next
        # training re-embeds only new text and re-fits only the intents that changed.
        self.training_vectors = training_vectors or {}
        self.training_pairs = training_pairs or []
        self.top_k: int = manifest.get("config", {}).get("top_k", 5)

    @property
    def mode(self) -> str:
        """The training mode; models saved before accurate mode existed are fast."""
        return str(self.manifest.get("mode", "fast"))

    # --- serving -------------------------------------------------------------------------
    def parse(
        self, text: str, *, threshold: float | None = None, now: datetime | None = None
    ) -> Parse:
        """Understand one utterance; below the threshold (the creator's, if set) is no match.

        ``now`` anchors relative dates ("tomorrow") in the end user's time zone.
        """
        clean = text[:MAX_TEXT_CHARS].strip()
        if not clean:
            return Parse(text=text, intent=None, confidence=0.0)
        embedding = self.encoder.embed_one(clean)
        probabilities = self.classifier.probabilities_one(embedding, clean)
        nearness = self.classifier.nearness_one(embedding)
        return self._parse_from(text, clean, probabilities, nearness, threshold, now)

    def parse_batch(self, texts: list[str], *, threshold: float | None = None) -> list[Parse]:
        clean = [text[:MAX_TEXT_CHARS].strip() for text in texts]
        embeddings = self.encoder.embed(clean)
        probabilities = self.classifier.probabilities(embeddings, clean)
        nearness = self.classifier.nearness(embeddings)
        return [
            Parse(text=text, intent=None, confidence=0.0)
            if not cleaned
            else self._parse_from(text, cleaned, row, float(near), threshold, None)
            for text, cleaned, row, near in zip(texts, clean, probabilities, nearness, strict=True)
        ]

    def _parse_from(
        self,
        text: str,
        clean: str,
        probabilities: np.ndarray,
        nearness: float,
        threshold: float | None,
        now: datetime | None,
    ) -> Parse:
        order = np.argsort(-probabilities)[: self.top_k]
        labels = self.classifier.labels
        best = labels[order[0]]
        probability = float(probabilities[order[0]])
        confidence = (
            probability
            if self.familiarity is None
            else self.familiarity.confidence(probability, nearness)
        )
        # The runners-up are tempered alike, so the ranking keeps its order and proportions.
        factor = confidence / probability if probability > 0 else 0.0
        ranking = [IntentMatch(best, confidence)] + [
            IntentMatch(labels[i], min(1.0, float(probabilities[i]) * factor)) for i in order[1:]
        ]
        cutoff = self.threshold if threshold is None else threshold
        matched = confidence >= cutoff
        # Offsets refer to ``text``: the cleaned text only lost leading whitespace and a tail.
        shift = len(text) - len(text.lstrip())
        spans = self.spans.tag(clean, best) if self.spans is not None else []
        modelled = [Entity(s.start, s.end, s.entity, s.text, s.text, "model") for s in spans]
        defined = self.matcher.find(clean, now=now)
        found = resolve_overlaps([*modelled, *defined]) if defined else modelled
        entities = (
            [replace(e, start=e.start + shift, end=e.end + shift) for e in found]
            if shift
            else found
        )
        return Parse(
            text=text,
            intent=best if matched else None,
            confidence=confidence,
            ranking=ranking,
            entities=entities,
        )

    # --- training ------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        examples: list[Example],
        *,
        encoder: Encoder,
        config: TrainingConfig | None = None,
        validation: list[Example] | None = None,
        previous: NluModel | None = None,
        matcher: EntityMatcher | None = None,
        progress: Progress = no_progress,
    ) -> NluModel:
        """Train on ``examples``; calibrate the threshold on ``validation`` or by cross-validation.

        ``previous`` lends its cached utterance vectors, so only changed utterances are embedded.
        In accurate mode ``encoder`` is replaced by a copy fine-tuned on ``examples``, or by
        ``previous``'s when it was tuned on nearly the same utterances.
        """
        config = config or TrainingConfig()
        if config.mode not in MODES:
            raise ValueError(f"unknown training mode {config.mode!r}; use one of {MODES}")
        started = time.perf_counter()
        texts = [example.text for example in examples]
        labels = [example.intent for example in examples]
        keys = [text_key(text) for text in texts]
        annotations = _annotations(examples)
        tuning = None
        if config.mode == "accurate":
            pairs = _in_scope(zip(keys, labels, strict=True))
            tuning = _tuning_kept(previous, pairs, config)
            if tuning is not None and previous is not None:
                encoder = previous.encoder
            else:
                encoder = _finetuned_encoder(examples, encoder, config, progress)
                progress = progress_span(progress, FINETUNE_SHARE, 1.0)
                tuning = {"utterances": len(pairs), "changed": 0}
        if previous is not None and previous.manifest["encoder"] == encoder.identity:
            encoder.remember(previous.training_vectors)  # vectors of another encoder would lie
        progress("embedding", 0.0)
        embeddings = encoder.embed(texts)
        changed = _changed_intents(previous, keys, labels, encoder, config)
        # Out-of-scope examples are no intent: they only show how well no-match works.
        scoped = [i for i, label in enumerate(labels) if label != OUT_OF_SCOPE]
        scoped_embeddings = embeddings[scoped]
        scoped_texts, scoped_labels = [texts[i] for i in scoped], [labels[i] for i in scoped]
        limit = max(3, int(config.incremental_share * len(set(labels))))
        if (
            previous is not None
            and changed is not None
            and len(changed) <= limit
            and len(examples) >= config.incremental_min_utterances
        ):
            progress("re-fitting", 0.5)
            classifier = previous.classifier.refit(
                scoped_embeddings, scoped_texts, scoped_labels, changed - {OUT_OF_SCOPE}
            )
            spans, spans_refitted = _spans_after_edit(
                previous, examples, annotations, config, limit
            )
            threshold, familiarity = previous.threshold, previous.familiarity
            threshold_source = "kept from the previous training"
            training = {
                "kind": "incremental",
                "refitted_intents": sorted(changed),
                "entities": spans_refitted,
            }
        else:
            progress("training", 0.3)
            classifier = IntentClassifier(config.intents).train(
                scoped_embeddings, scoped_texts, scoped_labels
            )
            progress("calibrating", 0.5)
            threshold, threshold_source, familiarity = _calibrate(
                classifier, embeddings, texts, labels, encoder, config, validation
            )
            progress("entities", 0.7)
            spans = _train_spans(examples, config)
            training = {"kind": "full"}
        progress("done", 1.0)

        manifest = {
            "format": MODEL_FORMAT,
            "mode": config.mode,
            "encoder": encoder.identity,
            "tuning": tuning,
            "labels": classifier.labels,
            "threshold": threshold,
            "threshold_source": threshold_source,
            "familiarity": asdict(familiarity) if familiarity is not None else None,
            "entities": spans.entity_types if spans is not None else [],
            "annotations": annotations,
            "training": training,
            "config": {
                "intents": asdict(config.intents),
                "calibration_folds": config.calibration_folds,
                "top_k": config.top_k,
            },
            "metrics": {
                "training_utterances": len(examples),
                "train_seconds": round(time.perf_counter() - started, 3),
            },
            "versions": {lib: version(lib) for lib in ("numpy", "onnxruntime", "scikit-learn")},
            "trained_at": datetime.now(UTC).isoformat(),
        }
        return cls(
            encoder,
            classifier,
            spans=spans,
            matcher=matcher,
            threshold=threshold,
            familiarity=familiarity,
            manifest=manifest,
            training_vectors=dict(zip(keys, embeddings, strict=True)),
            training_pairs=list(zip(keys, labels, strict=True)),
        )

    # --- storage -------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.classifier.save(directory / "intents")
        if self.spans is not None:
            self.spans.save(directory / "spans")
        (directory / "entities.json").write_text(json.dumps(self.matcher.definitions()))
        if self.encoder.finetuned:
            self.encoder.save(directory / "encoder")
        if self.training_vectors:
            keys = list(self.training_vectors)
            save_file(
                {"vectors": np.stack([self.training_vectors[key] for key in keys])},
                str(directory / "embeddings.safetensors"),
                metadata={"keys": json.dumps(keys), "pairs": json.dumps(self.training_pairs)},
            )
        (directory / "manifest.json").write_text(json.dumps(self.manifest, indent=2))

    @classmethod
    def load(cls, directory: Path, *, encoder: Encoder) -> NluModel:
        """Load a saved model; ``encoder`` is the shared one, used unless the model has its own."""
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        if (directory / "encoder" / "manifest.json").exists():
            encoder = Encoder(
                directory / "encoder", variant=encoder.variant, threads=encoder.threads
            )
        if manifest.get("format") != MODEL_FORMAT:
            raise ValueError(f"{directory}: unsupported model format {manifest.get('format')!r}")
        if manifest["encoder"] != encoder.identity:
            raise ValueError(
                f"{directory} was trained with encoder {manifest['encoder']}, "
                f"not {encoder.identity}; retrain it"
            )
        spans_directory = directory / "spans"
        return cls(
            encoder,
            IntentClassifier.load(directory / "intents"),
            spans=SpanExtractor.load(spans_directory) if spans_directory.exists() else None,
            matcher=EntityMatcher.from_definitions(
                json.loads((directory / "entities.json").read_text())
            ),
            threshold=float(manifest["threshold"]),
            familiarity=Familiarity(**manifest["familiarity"])
            if manifest.get("familiarity")
            else None,
            manifest=manifest,
            **_load_training(directory / "embeddings.safetensors"),
        )


def _finetuned_encoder(
    examples: list[Example], base: Encoder, config: TrainingConfig, progress: Progress
) -> Encoder:
    """The base encoder fine-tuned on ``examples``, in a directory that lives as long as it."""
    work = Path(tempfile.mkdtemp(prefix="nlu-encoder-"))
    try:
        encoder_finetune(
            examples,
            work / "encoder",
            config=config.finetune,
            progress=lambda fraction: progress("fine-tuning", FINETUNE_SHARE * fraction),
            threads=config.finetune_threads,
        )
        tuned = Encoder(work / "encoder", variant=base.variant, threads=base.threads)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    weakref.finalize(tuned, shutil.rmtree, work, True)
    return tuned


def _in_scope(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (text key, intent) pairs of the utterances that belong to an intent."""
    return {(key, intent) for key, intent in pairs if intent != OUT_OF_SCOPE}


def _tuning_kept(
    previous: NluModel | None, now: set[tuple[str, str]], config: TrainingConfig
) -> dict[str, int] | None:
    """How far the in-scope (text key, intent) pairs ``now`` drifted from what ``previous``'s
    fine-tuned encoder was tuned on, counted up across the trainings that kept it; None when it
    has drifted too far to keep.
    """
    tuning = previous.manifest.get("tuning") if previous is not None else None
    if previous is None or not tuning or not previous.encoder.finetuned:
        return None
    before = _in_scope(previous.training_pairs)
    if {intent for _, intent in now} != set(previous.classifier.labels):
        return None
    changed = tuning["changed"] + max(len(now - before), len(before - now))
    if changed > config.retune_share * tuning["utterances"]:
        return None
    return {"utterances": tuning["utterances"], "changed": changed}


def _load_training(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        metadata = handle.metadata()
        vectors = handle.get_tensor("vectors")
    return {
        "training_vectors": dict(zip(json.loads(metadata["keys"]), vectors, strict=True)),
        "training_pairs": [tuple(pair) for pair in json.loads(metadata["pairs"])],
    }


def _annotations(examples: list[Example]) -> dict[str, str]:
    """A fingerprint of each intent's entity annotations: what the span extractor learnt from."""
    annotated: dict[str, list[Any]] = {}
    for example in examples:
        if example.entities:
            spans = [(s.start, s.end, s.entity) for s in example.entities]
            annotated.setdefault(example.intent, []).append((example.text, spans))
    return {intent: text_key(json.dumps(sorted(rows))) for intent, rows in annotated.items()}


def _train_spans(examples: list[Example], config: TrainingConfig) -> SpanExtractor | None:
    if not any(example.entities for example in examples):
        return None
    return SpanExtractor(config.spans).train(examples)


def _spans_after_edit(
    previous: NluModel,
    examples: list[Example],
    after: dict[str, str],
    config: TrainingConfig,
    limit: int,
) -> tuple[SpanExtractor | None, str | list[str]]:
    """The span extractor of a quick retrain on ``examples`` (annotations fingerprinted as
    ``after``), and what became of it: ``"kept"`` when no annotation changed, the intents
    re-learnt on their own when at most ``limit`` intents would then stand apart from the joint
    model, else ``"retrained"`` on every utterance."""
    before = previous.manifest.get("annotations")
    if after == before:
        return previous.spans, "kept"
    # Nothing left to tag with, or a model from before per-intent fingerprints (2026-12-07).
    if previous.spans is None or not after or not isinstance(before, dict):
        return _train_spans(examples, config), "retrained"
    changed = {
        intent for intent in before.keys() | after.keys() if before.get(intent) != after.get(intent)
    }
    if len(changed | previous.spans.refitted.keys()) > limit:
        return _train_spans(examples, config), "retrained"
    return previous.spans.refit(examples, changed), sorted(changed)


def _changed_intents(
    previous: NluModel | None,
    keys: list[str],
    labels: list[str],
    encoder: Encoder,
    config: TrainingConfig,
) -> set[str] | None:
    """Intents whose utterances differ from the previous training; None if it cannot be reused."""
    if (
        previous is None
        or previous.manifest["encoder"] != encoder.identity
        or previous.classifier.config != config.intents
        or not previous.training_pairs
    ):
        return None
    before = _keys_by_intent(previous.training_pairs)
    after = _keys_by_intent(zip(keys, labels, strict=True))
    return {
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    }


def _keys_by_intent(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for key, label in pairs:
        grouped.setdefault(label, set()).add(key)
    return grouped


def _calibrate(
    classifier: IntentClassifier,
    embeddings: np.ndarray,
    texts: list[str],
    labels: list[str],
    encoder: Encoder,
    config: TrainingConfig,
    validation: list[Example] | None,
) -> tuple[float, str, Familiarity | None]:
    """The confidence's familiarity scaling and the no-match threshold, from a validation set
    or from out-of-fold predictions (training's out-of-scope examples join those as they are)."""
    if validation:
        held_texts = [example.text for example in validation]
        held_embeddings = encoder.embed(held_texts)
        probabilities = classifier.probabilities(held_embeddings, held_texts)
        nearness = classifier.nearness(held_embeddings)
        gold = [example.intent for example in validation]
        source = "validation set"
    else:
        cv_config = replace(config.intents, tol=1e-3)  # out-of-fold scores need less precision
        scoped = [i for i, label in enumerate(labels) if label != OUT_OF_SCOPE]
        outside = [i for i, label in enumerate(labels) if label == OUT_OF_SCOPE]
        probabilities, nearness = out_of_fold(
            embeddings[scoped],
            [texts[i] for i in scoped],
            [labels[i] for i in scoped],
            config=cv_config,
            folds=config.calibration_folds,
        )
        if outside:  # the final classifier never saw them
            outside_texts = [texts[i] for i in outside]
            probabilities = np.vstack(
                [probabilities, classifier.probabilities(embeddings[outside], outside_texts)]
            )
            nearness = np.concatenate([nearness, classifier.nearness(embeddings[outside])])
        gold = [labels[i] for i in scoped + outside]
        source = "cross-validation"
    top = probabilities.argmax(axis=1)
    probability = probabilities.max(axis=1)
    predicted = [classifier.labels[i] for i in top]
    right = np.asarray(predicted) == np.asarray(gold)
    familiarity = Familiarity.fit(probability[right], nearness[right])
    confidence = (
        probability if familiarity is None else familiarity.confidence(probability, nearness)
    )
    threshold, rule = threshold_choose(confidence, predicted, gold)
    return threshold, f"{source}, {rule}", familiarity
