"""Prompt tests: cases of input values with checks on the output, written without code, run
against one or several models ``repetitions`` times each, so a stochastic failure shows as a pass
rate below 100 % instead of hiding behind one lucky run.

A check is ``{"kind": ..., "value": ...}``; creators write them one per line (``check_lines``):

    contains: refund              the output contains the text (case-insensitive)
    not contains: sorry           it does not
    regex: ^\\d+ pizzas?$          the pattern matches somewhere in it
    json                          the output is JSON (``json: {schema}``: valid for the schema)
    min length: 20 / max length: 300     in characters
    judge: politely declines      an LLM judges the output against the rubric
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from core.jobs import job_execute
from core.models import Prompt, PromptTestCase, PromptVersion
from core.tasks import job_enqueue
from gateway.calls import complete, prompt_call, structured
from gateway.errors import GatewayError, OutputInvalid
from gateway.ledger import CallScope
from gateway.models import LlmModel, Purpose
from gateway.structured import schema_model
from nlu.progress import Progress
from quality.models import PromptTestRun, SuiteRunStatus
from quality.services.prompt_checks import check_clean, check_output, check_text

MAX_REPETITIONS = 20
MAX_MODELS = 5


def prompt_test_case_create(
    *, prompt: Prompt, name: str, values: dict[str, Any], checks: Sequence[Any]
) -> PromptTestCase:
    name = " ".join(str(name).split())[:200]
    if not name:
        raise ValidationError({"name": "Name the test case."})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ValidationError({"values": "Give each variable a text value."})
    cleaned = []
    for index, check in enumerate(checks):
        try:
            cleaned.append(check_clean(check))
        except ValidationError as error:
            raise ValidationError(
                {"checks": f"check {index + 1}: {' '.join(error.messages)}"}
            ) from None
    if not cleaned:
        raise ValidationError({"checks": "Add at least one check."})
    return PromptTestCase.objects.create(prompt=prompt, name=name, values=values, checks=cleaned)


def prompt_tests_request(
    *, version: PromptVersion, model_keys: Sequence[str] = (), repetitions: int = 1
) -> PromptTestRun:
    """Queue a run of the prompt's test cases on ``version``; it starts once this commits."""
    if not version.prompt.test_cases.exists():
        raise ValidationError("The prompt has no test cases yet.")
    if not 1 <= repetitions <= MAX_REPETITIONS:
        raise ValidationError({"repetitions": f"Repeat 1 to {MAX_REPETITIONS} times."})
    keys = list(dict.fromkeys(model_keys))
    if len(keys) > MAX_MODELS:
        raise ValidationError({"models": f"Compare at most {MAX_MODELS} models at once."})
    unknown = sorted(
        set(keys) - set(LlmModel.objects.filter(key__in=keys).values_list("key", flat=True))
    )
    if unknown:
        raise ValidationError({"models": f"Not in the catalogue: {', '.join(unknown)}."})
    run = PromptTestRun.objects.create(version=version, model_keys=keys, repetitions=repetitions)
    job_enqueue("prompt_tests", run.pk)
    return run


def prompt_test_run_execute(run_id: int) -> PromptTestRun:
    """Run a queued run's cases (once; a run another worker took is left to it); its report
    says what changed since the prompt's previous version."""

    def work(run: PromptTestRun, progress: Progress) -> None:
        run.report = prompt_tests_run(
            run.version,
            list(run.version.prompt.test_cases.all()),
            model_keys=run.model_keys,
            repetitions=run.repetitions,
            progress=progress,
        )
        previous = (
            PromptTestRun.objects.filter(
                version__prompt=run.version.prompt,
                version__number__lt=run.version.number,
                status=SuiteRunStatus.DONE,
            )
            .select_related("version")
            .first()
        )
        if previous is not None and previous.report:
            run.report["versus"] = versus(previous, run.report)

    return job_execute(PromptTestRun, run_id, work, related=["version__prompt__assistant"])


def prompt_tests_run(
    version: PromptVersion,
    cases: Sequence[PromptTestCase],
    *,
    model_keys: Sequence[str] = (),
    repetitions: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Each case ``repetitions`` times on each model: per model the pass rate, latency, tokens
    and cost, and per case its pass rate and the failing outputs with the reasons."""
    progress = progress or (lambda stage, fraction: None)
    found = {model.key: model for model in LlmModel.objects.filter(key__in=model_keys)}
    if missing := [key for key in model_keys if key not in found]:
        raise ValueError(f"No longer in the catalogue: {', '.join(missing)}.")
    targets: list[LlmModel | None] = [found[key] for key in model_keys]
    total = max(1, len(targets or [None]) * len(cases) * repetitions)
    report: dict[str, Any] = {"version": version.number, "repetitions": repetitions, "models": []}
    for target in targets or [None]:  # None: the version's model, else the assistant's
        tally = _Tally()
        rows = []
        for case in cases:
            failures = []
            for repetition in range(repetitions):
                progress(f"{case.name} ({repetition + 1}/{repetitions})", tally.runs / total)
                reasons, output = _run_once(version, case, target, tally)
                if reasons:
                    failures.append({"run": repetition + 1, "output": output, "reasons": reasons})
            passed = repetitions - len(failures)
            rows.append(
                {
                    "case": case.pk,
                    "name": case.name,
                    "checks": [check_text(check) for check in case.checks],
                    "passed": passed,
                    "runs": repetitions,
                    "pass_rate": round(passed / repetitions, 4),
                    "failures": failures,
                }
            )
        if target is not None:
            name = target.key
        else:
            name = version.model.key if version.model else "the assistant's model"
        report["models"].append({"model": name, **tally.figures(rows), "cases": rows})
    progress("done", 1.0)
    return report


class _Tally:
    def __init__(self) -> None:
        self.runs = 0
        self.latencies: list[float] = []
        self.tokens = 0
        self.cost = Decimal(0)
        self.unpriced = False

    def figures(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        passed = sum(row["passed"] for row in rows)
        latencies = self.latencies or [0.0]
        return {
            "runs": self.runs,
            "passed": passed,
            "pass_rate": round(passed / self.runs, 4) if self.runs else None,
            "latency_ms": {
                "p50": round(float(np.percentile(latencies, 50)), 1),
                "p99": round(float(np.percentile(latencies, 99)), 1),
            },
            "tokens": self.tokens,
            "cost": None if self.unpriced else format(self.cost, "f"),
        }


def _run_once(
    version: PromptVersion, case: PromptTestCase, target: LlmModel | None, tally: _Tally
) -> tuple[list[str], str]:
    """One run of a case: the reasons it failed (none: it passed) and the output."""
    assistant = version.prompt.assistant
    tally.runs += 1
    options = prompt_call(
        version,
        case.values,
        purpose=Purpose.TEST,
        workspace_id=assistant.workspace_id,
        assistant_id=assistant.pk,
    )
    if target is not None:
        options["model"] = target
    started = time.perf_counter()
    try:
        if version.output_schema is not None:  # as production runs it: validated, repaired
            schema = schema_model(version.output_schema)
            messages = options.pop("messages")
            completion = structured(messages, schema, cache="off", **options).completion
        else:
            completion = complete(**options, cache="off")
    except OutputInvalid as error:
        return [f"invalid output: {'; '.join(error.errors) or error}"], ""
    except GatewayError as error:
        return [f"no answer: {error}"], ""
    tally.latencies.append((time.perf_counter() - started) * 1000)
    tally.tokens += completion.input_tokens + completion.output_tokens
    if completion.cost is None:
        tally.unpriced = True
    else:
        tally.cost += completion.cost
    scope = CallScope(Purpose.TEST, workspace_id=assistant.workspace_id, assistant_id=assistant.pk)
    reasons = [
        reason
        for check in case.checks
        if (reason := check_output(check, completion.text, scope=scope)) is not None
    ]
    return reasons, completion.text


def prompt_tests_on_new_version(version: PromptVersion) -> PromptTestRun:
    """Run the prompt's tests on a version just saved, as the last run was set up (the version's
    own model, once, if there was none); its report says what the new version fixes and breaks."""
    last = PromptTestRun.objects.filter(version__prompt=version.prompt).first()
    keys = list(last.model_keys) if last else []
    known = set(LlmModel.objects.filter(key__in=keys).values_list("key", flat=True))
    return prompt_tests_request(
        version=version,
        model_keys=[key for key in keys if key in known],  # a model may have left the catalogue
        repetitions=last.repetitions if last else 1,
    )


def versus(previous: PromptTestRun, report: dict[str, Any]) -> dict[str, Any]:
    """The cases whose pass rate rose to 100 % (fixed) or fell from it (broke), and any other
    change, per model, against an earlier version's run."""
    before = {
        (model["model"], case["case"]): case["pass_rate"]
        for model in (previous.report or {}).get("models", [])
        for case in model["cases"]
    }
    fixed, broke, changed = [], [], []
    for model in report["models"]:
        for case in model["cases"]:
            old = before.get((model["model"], case["case"]))
            if old is None or old == case["pass_rate"]:
                continue
            row = {
                "model": model["model"],
                "case": case["name"],
                "before": old,
                "after": case["pass_rate"],
            }
            if case["pass_rate"] == 1:
                fixed.append(row)
            elif old == 1:
                broke.append(row)
            else:
                changed.append(row)
    return {
        "run": previous.pk,
        "version": previous.version.number,
        "fixed": fixed,
        "broke": broke,
        "changed": changed,
    }
