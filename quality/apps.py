from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = "Evaluations and tests"

    def ready(self) -> None:
        from core.jobs import JobKind, job_kind_register
        from quality.models import ConversationTestRun, EvaluationRun, PromptTestRun
        from quality.services.conversation_tests import conversation_test_run_execute
        from quality.services.evaluations import evaluation_run_execute
        from quality.services.prompt_tests import prompt_test_run_execute

        for kind in (
            JobKind("evaluation", evaluation_run_execute, EvaluationRun),
            JobKind(
                "prompt_tests",
                prompt_test_run_execute,
                PromptTestRun,
                assistant="version__prompt__assistant",
            ),
            JobKind("conversation_tests", conversation_test_run_execute, ConversationTestRun),
        ):
            job_kind_register(kind)
