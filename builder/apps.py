from django.apps import AppConfig


class BuilderConfig(AppConfig):
    name = "builder"
    verbose_name = "Builder"

    def ready(self) -> None:
        from builder import logins  # noqa: F401 -- connects the failed-login counters
        from builder.services.training import training_request
        from core.jobs import JobKind, job_kind_register
        from core.models import TrainingRun, TrainingStatus

        job_kind_register(
            JobKind(
                "training",
                TrainingRun,
                TrainingStatus.RUNNING,
                TrainingStatus.FAILED,
                retry=lambda assistant: training_request(assistant=assistant),
            )
        )
