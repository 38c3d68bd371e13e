from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "knowledge"
    verbose_name = "Knowledge bases"

    def ready(self) -> None:
        from core.jobs import JobKind, job_kind_register
        from knowledge.ingest import document_ingest
        from knowledge.models import Document, DocumentStatus

        job_kind_register(
            JobKind(
                name="documents",
                execute=document_ingest,
                model=Document,
                running=DocumentStatus.PROCESSING,
                failed=DocumentStatus.FAILED,
                hint="Refresh the document or upload it again.",
                beat="updated_at",
                assistant="knowledge_base__assistant",
                reset={"progress": 0.0},
            )
        )
