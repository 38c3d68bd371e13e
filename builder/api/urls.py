from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from builder.api.auth import TokenView
from builder.api.conversation_tests import (
    ConversationTestFromConversationView,
    ConversationTestListView,
    ConversationTestRunListView,
    ConversationTestRunView,
    ConversationTestView,
)
from builder.api.evaluations import EvaluationControlView, EvaluationListView, EvaluationView
from builder.api.gateway import urlpatterns as gateway_urlpatterns
from builder.api.knowledge import urlpatterns as knowledge_urlpatterns
from builder.api.language import (
    AnalysisView,
    EntitySuggestionsView,
    IntentMergeView,
    IntentSuggestionsView,
    IntentSynthesisView,
    UtteranceMoveView,
)
from builder.api.nlu import (
    ChecksView,
    EntityViewSet,
    ExportView,
    FlowViewSet,
    ImportView,
    IntentUtterancesView,
    IntentViewSet,
    NluTransferView,
    ParseView,
    RollbackView,
    TrainingView,
    UtteranceViewSet,
    VersionsView,
)
from builder.api.prompt_tests import (
    BacktestListView,
    PromptTestCaseListView,
    PromptTestCaseView,
    PromptTestRunListView,
    PromptTestRunView,
)
from builder.api.views import (
    AssistantViewSet,
    MembershipViewSet,
    PromptVersionViewSet,
    PromptViewSet,
    WorkspaceViewSet,
)

router = DefaultRouter()
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("assistants", AssistantViewSet, basename="assistant")
router.register("prompts", PromptViewSet, basename="prompt")
router.register("intents", IntentViewSet, basename="intent")
router.register("utterances", UtteranceViewSet, basename="utterance")
router.register("entities", EntityViewSet, basename="entity")
router.register("flows", FlowViewSet, basename="flow")

members = MembershipViewSet.as_view({"get": "list", "post": "create"})
member = MembershipViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

prompt_versions = PromptVersionViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    path("intents/<int:pk>/utterances/", IntentUtterancesView.as_view(), name="intent-utterances"),
    path("assistants/<int:pk>/training/", TrainingView.as_view(), name="assistant-training"),
    path("assistants/<int:pk>/parse/", ParseView.as_view(), name="assistant-parse"),
    path("assistants/<int:pk>/checks/", ChecksView.as_view(), name="assistant-checks"),
    path("assistants/<int:pk>/analysis/", AnalysisView.as_view(), name="assistant-analysis"),
    path(
        "intents/<int:pk>/suggestions/",
        IntentSuggestionsView.as_view(),
        name="intent-suggestions",
    ),
    path("intents/<int:pk>/synthesis/", IntentSynthesisView.as_view(), name="intent-synthesis"),
    path("intents/<int:pk>/merge/", IntentMergeView.as_view(), name="intent-merge"),
    path(
        "entities/<int:pk>/suggestions/",
        EntitySuggestionsView.as_view(),
        name="entity-suggestions",
    ),
    path("utterances/<int:pk>/move/", UtteranceMoveView.as_view(), name="utterance-move"),
    path(
        "assistants/<int:pk>/evaluations/",
        EvaluationListView.as_view(),
        name="assistant-evaluations",
    ),
    path("evaluations/<int:pk>/", EvaluationView.as_view(), name="evaluation"),
    path(
        "evaluations/<int:pk>/control/",
        EvaluationControlView.as_view(),
        name="evaluation-control",
    ),
    path("assistants/<int:pk>/versions/", VersionsView.as_view(), name="assistant-versions"),
    path("assistants/<int:pk>/export/", ExportView.as_view(), name="assistant-export"),
    path("assistants/import/", ImportView.as_view(), name="assistant-import"),
    path("assistants/<int:pk>/nlu/", NluTransferView.as_view(), name="assistant-nlu"),
    path(
        "assistants/<int:pk>/versions/<int:number>/rollback/",
        RollbackView.as_view(),
        name="assistant-rollback",
    ),
    path("prompts/<int:prompt_pk>/versions/", prompt_versions, name="prompt-versions"),
    path(
        "prompts/<int:pk>/test-cases/", PromptTestCaseListView.as_view(), name="prompt-test-cases"
    ),
    path("prompt-test-cases/<int:pk>/", PromptTestCaseView.as_view(), name="prompt-test-case"),
    path(
        "prompt-versions/<int:pk>/test-runs/",
        PromptTestRunListView.as_view(),
        name="prompt-test-runs",
    ),
    path("prompt-test-runs/<int:pk>/", PromptTestRunView.as_view(), name="prompt-test-run"),
    path("prompts/<int:pk>/backtests/", BacktestListView.as_view(), name="prompt-backtests"),
    path(
        "assistants/<int:pk>/conversation-tests/",
        ConversationTestListView.as_view(),
        name="conversation-tests",
    ),
    path(
        "assistants/<int:pk>/conversation-tests/from-conversation/",
        ConversationTestFromConversationView.as_view(),
        name="conversation-test-from-conversation",
    ),
    path("conversation-tests/<int:pk>/", ConversationTestView.as_view(), name="conversation-test"),
    path(
        "assistants/<int:pk>/conversation-test-runs/",
        ConversationTestRunListView.as_view(),
        name="conversation-test-runs",
    ),
    path(
        "conversation-test-runs/<int:pk>/",
        ConversationTestRunView.as_view(),
        name="conversation-test-run-api",
    ),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("workspaces/<int:workspace_pk>/members/", members, name="workspace-members-api"),
    path("workspaces/<int:workspace_pk>/members/<int:pk>/", member, name="workspace-member-api"),
    *gateway_urlpatterns,
    *knowledge_urlpatterns,
    *router.urls,
]
