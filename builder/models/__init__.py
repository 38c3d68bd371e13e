"""What a creator designs, one module per concern; import from here."""

from builder.models.assistants import Assistant, AssistantQuerySet, Language, NluMode
from builder.models.evaluations import (
    ComparisonItem,
    EvaluationKind,
    EvaluationRun,
    EvaluationStatus,
)
from builder.models.flows import AssistantVersion, Flow
from builder.models.nlu import (
    UTTERANCE_MAX_LENGTH,
    Entity,
    EntityKind,
    Intent,
    TrainingRun,
    TrainingStatus,
    Utterance,
)
from builder.models.prompts import Prompt, PromptQuerySet, PromptVersion
from builder.models.testing import (
    DEFAULT_SUITE,
    ConversationTest,
    ConversationTestRun,
    PromptTestCase,
    PromptTestRun,
    SuiteRunStatus,
)
from builder.models.workspaces import (
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
    "ComparisonItem",
    "ConversationTest",
    "ConversationTestRun",
    "Entity",
    "EntityKind",
    "EvaluationKind",
    "EvaluationRun",
    "EvaluationStatus",
    "Flow",
    "Intent",
    "Language",
    "Membership",
    "NluMode",
    "Prompt",
    "PromptQuerySet",
    "PromptTestCase",
    "PromptTestRun",
    "PromptVersion",
    "Role",
    "SuiteRunStatus",
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
