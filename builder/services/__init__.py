"""Workflows that write what creators design, one module per concern; import from here.

Each service validates what the database cannot, raises ``ValidationError`` keyed by field name
(pages show it on the field, the API answers 400 with it) and writes inside one transaction, so a
refused request leaves nothing half-saved.
"""

from builder.services.assistant_transfer import (
    AssistantImport,
    ExportFile,
    assistant_export_file,
    assistant_import,
    assistant_import_file,
)
from builder.services.assistants import (
    assistant_create,
    assistant_delete,
    assistant_llm_policy_update,
    assistant_update,
)
from builder.services.flows import flow_catalogue, flow_create, flow_update
from builder.services.nlu import (
    entity_create,
    entity_delete,
    entity_update,
    intent_create,
    intent_delete,
    intent_update,
    utterance_delete,
    utterance_update,
    utterances_add,
)
from builder.services.nlu_transfer import (
    ImportReport,
    nlu_export_csv,
    nlu_export_rasa,
    nlu_import_csv,
    nlu_import_rasa,
)
from builder.services.prompts import prompt_create, prompt_version_create
from builder.services.training import training_request, training_run_execute
from builder.services.versions import assistant_export, assistant_publish, assistant_rollback
from builder.services.workspaces import (
    member_add,
    member_change_role,
    member_remove,
    workspace_create,
    workspace_rename,
)

__all__ = [
    "AssistantImport",
    "ExportFile",
    "ImportReport",
    "assistant_create",
    "assistant_delete",
    "assistant_export",
    "assistant_export_file",
    "assistant_import",
    "assistant_import_file",
    "assistant_llm_policy_update",
    "assistant_publish",
    "assistant_rollback",
    "assistant_update",
    "entity_create",
    "entity_delete",
    "entity_update",
    "flow_catalogue",
    "flow_create",
    "flow_update",
    "intent_create",
    "intent_delete",
    "intent_update",
    "member_add",
    "member_change_role",
    "member_remove",
    "nlu_export_csv",
    "nlu_export_rasa",
    "nlu_import_csv",
    "nlu_import_rasa",
    "prompt_create",
    "prompt_version_create",
    "training_request",
    "training_run_execute",
    "utterance_delete",
    "utterance_update",
    "utterances_add",
    "workspace_create",
    "workspace_rename",
]
