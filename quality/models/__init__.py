"""Evaluations, comparisons and test runs: how well an assistant does; import from here."""

from quality.models.evaluations import (
    ComparisonItem,
    EvaluationKind,
    EvaluationRun,
    EvaluationStatus,
)
from quality.models.runs import ConversationTestRun, PromptTestRun, SuiteRunStatus

__all__ = [
    "ComparisonItem",
    "ConversationTestRun",
    "EvaluationKind",
    "EvaluationRun",
    "EvaluationStatus",
    "PromptTestRun",
    "SuiteRunStatus",
]
