from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "knowledge"
    verbose_name = "Knowledge bases"

    def ready(self) -> None:
        from core.jobs import JobKind, job_kind_register
        from knowledge.ingest import document_ingest, readings_stopped
        from knowledge.models import DocumentReading

        job_kind_register(
            JobKind(
                name="documents",
                execute=document_ingest,
                model=DocumentReading,
                hint="Refresh the document or upload it again.",
                assistant="document__knowledge_base__assistant",
                on_stopped=readings_stopped,  # its document fails too
            )
        )
