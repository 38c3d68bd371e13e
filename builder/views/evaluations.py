"""Evaluation reports of an assistant's NLU: start one, watch it run, read and download it.

Charts are SVG drawn here from the report's figures, so the page needs no script or CDN.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from builder.views.language import fix_targets
from core.models import Assistant, NluMode, can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant
from gateway.catalogue import default_model
from gateway.models import LlmModel
from quality.models import EvaluationKind, EvaluationRun
from quality.services.comparison import estimate
from quality.services.evaluations import (
    evaluation_request,
    evaluation_resume,
    evaluation_stop,
    test_set_read,
)

SHOWN_ERRORS = 200

CHART_WIDTH = 600
BAR_HEIGHT = 18


class EvaluationForm(forms.Form):
    kind = forms.ChoiceField(choices=EvaluationKind.choices, label="Evaluate on")
    folds = forms.IntegerField(min_value=2, max_value=10, initial=5, required=False)
    test_set = forms.FileField(
        required=False,
        label="Test set",
        help_text='For an uploaded test set: JSONL ({"text", "intent", "entities"}) or CSV '
        "text,intent; intent “oos” marks an utterance that should match nothing. A comparison "
        "without one uses a held-out fifth of the assistant's utterances.",
    )
    llm_model = forms.ChoiceField(required=False, label="LLM (comparison)")
    max_items = forms.IntegerField(
        min_value=1,
        max_value=5000,
        initial=200,
        required=False,
        label="At most this many utterances to the LLM",
    )
    few_shot = forms.IntegerField(
        min_value=0, max_value=10, initial=3, required=False, label="Few-shot examples"
    )
    nlu_mode = forms.ChoiceField(
        choices=[("", "The assistant's mode"), *NluMode.choices],
        required=False,
        label="Train the evaluation's models in",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default_model()  # the catalogue's starting rows exist
        keys = LlmModel.objects.order_by("key").values_list("key", flat=True)
        field = self.fields["llm_model"]
        field.choices = [("", "The assistant's model"), *((key, key) for key in keys)]  # type: ignore[attr-defined]


@login_required
def evaluation_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=request.method == "POST")
    form = EvaluationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data.get("test_set")
        try:
            test_set = test_set_read(upload.name, upload.read()) if upload else None
            run = evaluation_request(
                assistant=assistant,
                kind=data["kind"],
                folds=data.get("folds") or 5,
                test_name=upload.name if upload else "",
                test_set=test_set,
                llm_model=data.get("llm_model") or "",
                max_items=data.get("max_items") or 200,
                few_shot=3 if data.get("few_shot") is None else data["few_shot"],
                nlu_mode=data.get("nlu_mode") or None,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Evaluation started.")
            return redirect("evaluation-detail", pk=run.pk)
    return render(
        request,
        "builder/evaluation_list.html",
        {
            "assistant": assistant,
            "runs": assistant.evaluations.defer("test_set", "report")[:50],
            "form": form,
            "estimates": _estimates(assistant),
            "can_edit": can_edit(assistant.member_role),
        },
    )


def _estimates(assistant: Assistant) -> list[dict[str, Any]]:
    """What sending 200 utterances to each catalogue model would cost, before a comparison."""
    return [
        estimate(assistant, 200, llm=key)
        for key in LlmModel.objects.order_by("key").values_list("key", flat=True)
    ]


def _member_run(request: AuthenticatedRequest, pk: int) -> EvaluationRun:
    rows = EvaluationRun.objects.select_related("assistant__workspace")
    return get_object_or_404(member_rows(rows, request.user), pk=pk)


@login_required
def evaluation_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    run = _member_run(request, pk)
    assistant = run.assistant
    report = run.report or {}
    return render(
        request,
        "builder/evaluation_detail.html",
        {
            "assistant": assistant,
            "run": run,
            "report": report,
            "histogram": _histogram(report),
            "f1_bars": _f1_bars(report),
            "per_intent": sorted(
                (report.get("per_intent") or {}).items(), key=lambda item: item[1]["f1"]
            ),
            "rows": _comparison_rows(report),
            "errors": _fixable_errors(assistant, report.get("errors") or []),
            "can_edit": can_edit(run.member_role),
            "scatter": _scatter(report),
        },
    )


@login_required
@require_POST
def evaluation_control(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Stop a running comparison, or resume a stopped one where it was."""
    run = _member_run(request, pk)
    if not can_edit(run.member_role):
        messages.error(request, "Viewers cannot stop or resume evaluations.")
        return redirect("evaluation-detail", pk=pk)
    action = request.POST.get("action")
    try:
        if action == "stop":
            evaluation_stop(run=run)
            messages.success(request, "Stopping after the current utterance; resume it any time.")
        elif action == "resume":
            evaluation_resume(run=run)
            messages.success(request, "Resumed; finished utterances are not asked again.")
        else:
            messages.error(request, "Unknown action.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("evaluation-detail", pk=pk)


@login_required
def evaluation_download(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    run = _member_run(request, pk)
    body = {
        "assistant": run.assistant_id,
        "kind": run.kind,
        "folds": run.folds if run.kind == EvaluationKind.KFOLD else None,
        "test_set": run.test_name or None,
        "model_version": run.model_version or None,
        "status": run.status,
        "error": run.error or None,
        "created_at": run.created_at.isoformat(),
        "report": run.report,
    }
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="evaluation-{run.pk}.json"'
    return response


def _fixable_errors(assistant: Assistant, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's errors (the first 200) with what a one-click fix needs: the training utterance
    with that text, if any (to move it to the predicted intent), and the intents' ids (to add
    the text to the expected intent)."""
    intents, utterances = fix_targets(assistant)
    return [
        {
            **error,
            "utterance_id": utterances.get((error["expected"], error["text"].lower())),
            "expected_id": intents.get(error["expected"]),
            "predicted_id": intents.get(error["predicted"]),
        }
        for error in errors[:SHOWN_ERRORS]
    ]


def _comparison_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    classifiers = report.get("classifiers") or {}
    versus = report.get("versus_nlu") or {}
    return [
        {"name": name, **classifiers[name], **versus.get(name, {})}
        for name in ("nlu", "llm", "hybrid")
        if name in classifiers
    ]


def _scatter(report: dict[str, Any]) -> dict[str, Any] | None:
    """Accuracy (up) against cost per 1,000 turns (right, log scale)."""
    points = [
        (row["name"], float(row["cost_per_1000_turns"]), row["accuracy"])
        for row in _comparison_rows(report)
        if row["cost_per_1000_turns"] is not None and row["accuracy"] is not None
    ]
    if not points:
        return None
    width, height, pad = CHART_WIDTH, 220, 40
    logs = [math.log10(max(cost, 1e-9)) for _, cost, _ in points]
    low, high = min(logs) - 0.5, max(logs) + 0.5
    return {
        "width": width,
        "height": height,
        "points": [
            {
                "name": name,
                "x": round(pad + (width - 2 * pad) * (log - low) / (high - low)),
                "y": round(height - pad - (height - 2 * pad) * accuracy),
                "label": f"{name}: {accuracy:.3f} at ${cost:.6f}",
            }
            for (name, cost, accuracy), log in zip(points, logs, strict=True)
        ],
    }


def _histogram(report: dict[str, Any]) -> dict[str, Any] | None:
    """Bars per confidence bin, right answers stacked under wrong ones."""
    figures = report.get("confidence_histogram")
    if not figures:
        return None
    height, bins = 160, len(figures["correct"])
    tallest = max(
        (c + w for c, w in zip(figures["correct"], figures["wrong"], strict=True)), default=1
    )
    width = CHART_WIDTH // bins
    bars = []
    for index, (correct, wrong) in enumerate(
        zip(figures["correct"], figures["wrong"], strict=True)
    ):
        low, high = figures["edges"][index], figures["edges"][index + 1]
        right_h = round(height * correct / max(tallest, 1))
        wrong_h = round(height * wrong / max(tallest, 1))
        bars.append(
            {
                "x": index * width + 2,
                "width": width - 4,
                "correct_y": height - right_h,
                "correct_h": right_h,
                "wrong_y": height - right_h - wrong_h,
                "wrong_h": wrong_h,
                "label": f"{low:.1f}",
                "label_x": index * width + width // 2,
                "title": f"confidence {low:.1f}–{high:.1f}: {correct} right, {wrong} wrong",
            }
        )
    return {"width": CHART_WIDTH, "height": height, "bars": bars}


def _f1_bars(report: dict[str, Any]) -> dict[str, Any] | None:
    """One bar per intent, worst F1 first (at most 40)."""
    rows = sorted((report.get("per_intent") or {}).items(), key=lambda item: item[1]["f1"])[:40]
    if not rows:
        return None
    label_width = 200
    bars = [
        {
            "y": index * BAR_HEIGHT,
            "text_y": index * BAR_HEIGHT + BAR_HEIGHT - 5,
            "name": name,
            "width": round((CHART_WIDTH - label_width - 50) * figures["f1"]),
            "value_x": label_width + round((CHART_WIDTH - label_width - 50) * figures["f1"]) + 4,
            "f1": figures["f1"],
        }
        for index, (name, figures) in enumerate(rows)
    ]
    return {
        "width": CHART_WIDTH,
        "height": len(bars) * BAR_HEIGHT,
        "label_width": label_width,
        "bars": bars,
    }
