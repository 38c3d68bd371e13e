"""Evaluating an assistant's NLU in the background: a held-out split, k-fold cross-validation, or an
uploaded test set run through the draft model; the report is ``nlu.evaluation.report``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F

from core.jobs import job_announcer, job_execute
from core.models import Assistant, NluMode
from core.nlu_data import finetune_threads, name_importable, nlu_examples, nlu_matcher
from core.tasks import job_enqueue
from gateway.models import LlmModel
from nlu.data import (
    OUT_OF_SCOPE,
    DataError,
    EntitySpan,
    Example,
    examples_from_csv,
    examples_from_jsonl,
)
from nlu.evaluation import kfold_outcomes, outcomes_of, report, split_holdout
from nlu.model import NluModel, TrainingConfig
from nlu.progress import Progress, progress_span
from nlu.registry import NotPublished
from nlu.store import registry
from quality.models import ComparisonItem, EvaluationKind, EvaluationRun, EvaluationStatus
from quality.services.comparison import compare

_announce = job_announcer("nlu.evaluation")

MAX_TEST_BYTES = 5_000_000
MAX_TEST_UTTERANCES = 20_000


def test_set_read(name: str, data: bytes) -> list[Example]:
    """An uploaded labelled set: JSONL (the shared data sets' format) or CSV ``text,intent``."""
    if len(data) > MAX_TEST_BYTES:
        raise ValidationError(f"The test set is larger than {MAX_TEST_BYTES // 1_000_000} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The test set is not UTF-8 text.") from None
    suffix = PurePath(name).suffix.lower()
    try:
        if suffix in (".jsonl", ".json"):
            examples = examples_from_jsonl(text.splitlines(), name)
        elif suffix == ".csv":
            examples = examples_from_csv(text, name)
        else:
            raise ValidationError("Upload a .jsonl or .csv file.")
    except DataError as error:
        raise ValidationError(str(error)) from None
    if not examples:
        raise ValidationError("The test set has no utterances.")
    # Labels get the names an import of the same data gave its intents.
    examples = [
        replace(
            example,
            intent=example.intent
            if example.intent == OUT_OF_SCOPE
            else name_importable(example.intent),
        )
        for example in examples
    ]
    if len(examples) > MAX_TEST_UTTERANCES:
        raise ValidationError(f"The test set has more than {MAX_TEST_UTTERANCES} utterances.")
    return examples


def evaluation_request(
    *,
    assistant: Assistant,
    kind: str,
    folds: int = 5,
    test_name: str = "",
    test_set: list[Example] | None = None,
    llm_model: str = "",
    max_items: int = 200,
    few_shot: int = 3,
    nlu_mode: str | None = None,
) -> EvaluationRun:
    """Queue an evaluation; it runs once the current transaction commits.

    A comparison runs on the uploaded test set through the draft model, or without one on a
    held-out fifth of the assistant's utterances with a model trained on the rest. Models trained
    for an evaluation train in ``nlu_mode``, by default the assistant's: in accurate mode each
    fine-tunes an encoder (minutes), fast mode gives a quick estimate.
    """
    if kind not in EvaluationKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(EvaluationKind.values)}."})
    if kind == EvaluationKind.KFOLD and not 2 <= folds <= 10:
        raise ValidationError({"folds": "Use 2 to 10 folds."})
    if nlu_mode is not None and nlu_mode not in NluMode.values:
        raise ValidationError({"nlu_mode": f"The training mode is one of {NluMode.values}."})
    if kind == EvaluationKind.TEST_SET and not test_set:
        raise ValidationError({"test_set": "Upload the labelled test set."})
    if kind == EvaluationKind.COMPARE:
        if llm_model and not LlmModel.objects.filter(key=llm_model).exists():
            raise ValidationError({"llm_model": f"No model {llm_model!r} in the catalogue."})
        if not 1 <= max_items <= 5000:
            raise ValidationError({"max_items": "Send 1 to 5,000 utterances to the LLM."})
        if not 0 <= few_shot <= 10:
            raise ValidationError({"few_shot": "Use 0 to 10 examples."})
    run = EvaluationRun.objects.create(
        assistant=assistant,
        kind=kind,
        nlu_mode=nlu_mode or assistant.nlu_mode,
        folds=folds,
        llm_model=llm_model,
        max_items=max_items,
        few_shot=few_shot,
        test_name=test_name[:255],
        test_set=[
            {
                "text": example.text,
                "intent": example.intent,
                "entities": [span.__dict__ for span in example.entities],
            }
            for example in test_set or []
        ],
    )
    _announce(run)
    job_enqueue("evaluation", run.pk)
    return run


def evaluation_stop(*, run: EvaluationRun) -> EvaluationRun:
    """Stop a comparison between two utterances; what it finished is kept for a resume."""
    if run.kind != EvaluationKind.COMPARE:
        raise ValidationError("Only comparisons can be stopped and resumed.")
    stopped = EvaluationRun.objects.filter(
        pk=run.pk, status__in=[EvaluationStatus.QUEUED, EvaluationStatus.RUNNING]
    ).update(status=EvaluationStatus.STOPPED, stage="stopping")
    if not stopped:
        raise ValidationError("The comparison is not running.")
    run.refresh_from_db()
    _announce(run)
    return run


def evaluation_resume(*, run: EvaluationRun) -> EvaluationRun:
    """Go on with a stopped (or failed) comparison from the first utterance it had not finished;
    finished ones are neither asked nor billed again."""
    if run.kind != EvaluationKind.COMPARE:
        raise ValidationError("Only comparisons can be stopped and resumed.")
    resumed = EvaluationRun.objects.filter(
        pk=run.pk, status__in=[EvaluationStatus.STOPPED, EvaluationStatus.FAILED]
    ).update(
        status=EvaluationStatus.QUEUED,
        attempt=F("attempt") + 1,
        stage="resuming",
        error="",
        finished_at=None,
    )
    if not resumed:
        raise ValidationError("Only a stopped or failed comparison can be resumed.")
    run.refresh_from_db()
    _announce(run)
    job_enqueue("evaluation", run.pk)
    return run


def evaluation_run_execute(run_id: int) -> EvaluationRun:
    """Evaluate as the run asks, in the run's training mode (once; a run another worker took is
    left to it). A comparison stopped meanwhile keeps what it finished, for a resume."""
    return job_execute(EvaluationRun, run_id, _evaluate, announce=_announce)


def _evaluate(run: EvaluationRun, progress: Progress) -> None:
    assistant = run.assistant
    models = registry()
    matcher = nlu_matcher(assistant)
    config = TrainingConfig(mode=run.nlu_mode, finetune_threads=finetune_threads())
    modes: list[str] = []  # of the models evaluated, as their manifests say

    def train(examples: list[Example], progress: Progress) -> NluModel:
        model = NluModel.train(
            examples, encoder=models.encoder, config=config, matcher=matcher, progress=progress
        )
        modes.append(model.mode)
        return model

    if run.kind == EvaluationKind.COMPARE:
        run.report = _compare(run, train, progress)
        modes.append(run.report["nlu_mode"])
    elif run.kind == EvaluationKind.TEST_SET:
        try:
            model = models.published_model(assistant.pk, "draft")
        except NotPublished:
            raise ValueError("The assistant has no trained model yet.") from None
        run.model_version = models.published_version(assistant.pk, "draft") or ""
        modes.append(model.mode)
        progress("predicting", 0.1)
        run.report = report(outcomes_of(model, test_set_examples(run)))
    else:
        examples = nlu_examples(assistant)
        if len({example.intent for example in examples}) < 2:
            raise ValueError("An evaluation needs at least two intents with utterances.")
        if run.kind == EvaluationKind.HOLDOUT:
            train_part, test = split_holdout(examples)
            if not test:
                raise ValueError("Too few utterances to hold any out.")
            model = train(train_part, progress_span(progress, 0.0, 0.9, "training on 80 %: "))
            run.report = report(outcomes_of(model, test))
        else:
            run.report = report(kfold_outcomes(examples, train, folds=run.folds, progress=progress))
    if modes:  # what was evaluated, whatever the assistant's mode is by now
        run.nlu_mode = modes[-1]


def test_set_examples(run: EvaluationRun) -> list[Example]:
    return [
        Example(
            row["text"],
            row["intent"],
            tuple(EntitySpan(**span) for span in row.get("entities") or []),
        )
        for row in run.test_set
    ]


def _compare(
    run: EvaluationRun, train: Callable[[list[Example], Progress], Any], progress: Progress
) -> dict[str, Any]:

    assistant = run.assistant
    attempt = run.attempt

    def save(index: int, records: dict[str, Any]) -> None:
        ComparisonItem.objects.get_or_create(run=run, index=index, defaults={"record": records})

    def stop() -> bool:
        return not EvaluationRun.objects.filter(
            pk=run.pk, status=EvaluationStatus.RUNNING, attempt=attempt
        ).exists()

    options: dict[str, Any] = {
        "llm": run.llm_model or None,
        "few_shot": run.few_shot,
        "max_items": run.max_items,
        "progress": progress,
        "done": {item.index: item.record for item in run.items.all()},
        "save": save,
        "stop": stop,
    }
    if run.test_set:
        return compare(assistant, test_set_examples(run), **options)
    training, held_out = split_holdout(nlu_examples(assistant))
    if not held_out:
        raise ValueError("Too few utterances to hold any out; upload a test set.")
    # Fine-tuning (accurate mode) takes minutes; the fast heads take seconds.
    share = 0.3 if run.nlu_mode == "accurate" else 0.05
    nlu = train(training, progress_span(progress, 0.0, share, "training on 80 %: "))
    options["progress"] = progress_span(progress, share, 1.0)
    return compare(assistant, held_out, nlu=nlu, training=training, **options)
