from django.apps import AppConfig


class BuilderConfig(AppConfig):
    name = "builder"
    verbose_name = "Builder"

    def ready(self) -> None:
        from builder import logins  # noqa: F401 -- connects the failed-login counters
        from builder.services.analysis import training_run_analyse
        from builder.services.suggestions import intent_synthesis_execute
        from builder.services.training import training_request, training_run_execute
        from core.jobs import JobKind, job_kind_register
        from core.models import TrainingRun

        for kind in (
            JobKind(
                "training",
                training_run_execute,
                TrainingRun,
                retry=lambda assistant: training_request(assistant=assistant),
            ),
            JobKind("analysis", training_run_analyse),  # a finished training's data
            JobKind("synthesis", intent_synthesis_execute),  # an intent's first utterances
        ):
            job_kind_register(kind)
