from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = "Evaluations and tests"

    def ready(self) -> None:
        from core.jobs import JobKind, job_kind_register
        from quality.models import (
            ConversationTestRun,
            EvaluationRun,
            EvaluationStatus,
            PromptTestRun,
            SuiteRunStatus,
        )

        running, failed = SuiteRunStatus.RUNNING, SuiteRunStatus.FAILED
        for kind in (
            JobKind("evaluation", EvaluationRun, EvaluationStatus.RUNNING, EvaluationStatus.FAILED),
            JobKind(
                "prompt_tests",
                PromptTestRun,
                running,
                failed,
                assistant="version__prompt__assistant",
            ),
            JobKind("conversation_tests", ConversationTestRun, running, failed),
        ):
            job_kind_register(kind)
