"""Workspaces, their members, and what a creator designs in them, one module per concern;
import from here."""

from core.models.assistants import Assistant, AssistantQuerySet, Language, NluMode
from core.models.flows import AssistantVersion, Flow
from core.models.jobs import Job, JobStatus
from core.models.nlu import (
    UTTERANCE_MAX_LENGTH,
    Entity,
    EntityKind,
    Intent,
    TrainingRun,
    TrainingStatus,
    Utterance,
)
from core.models.prompts import Prompt, PromptQuerySet, PromptVersion
from core.models.testing import DEFAULT_SUITE, ConversationTest, PromptTestCase
from core.models.workspaces import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Membership,
    Role,
    Workspace,
    WorkspaceQuerySet,
    can_edit,
    can_manage,
    member_rows,
    role_of,
)

__all__ = [
    "DEFAULT_SUITE",
    "DESCRIPTION_MAX_LENGTH",
    "NAME_MAX_LENGTH",
    "UTTERANCE_MAX_LENGTH",
    "Assistant",
    "AssistantQuerySet",
    "AssistantVersion",
    "ConversationTest",
    "Entity",
    "EntityKind",
    "Flow",
    "Intent",
    "Job",
    "JobStatus",
    "Language",
    "Membership",
    "NluMode",
    "Prompt",
    "PromptQuerySet",
    "PromptTestCase",
    "PromptVersion",
    "Role",
    "TrainingRun",
    "TrainingStatus",
    "Utterance",
    "Workspace",
    "WorkspaceQuerySet",
    "can_edit",
    "can_manage",
    "member_rows",
    "role_of",
]
