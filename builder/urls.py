from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from builder.forms import LoginForm
from builder.views import (
    accounts,
    assistants,
    conversation_tests,
    design,
    evaluations,
    knowledge,
    language,
    prompts,
    releases,
    transcripts,
    usage,
    workspaces,
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="workspace-list"), name="home"),
    # Accounts
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/", accounts.account, name="account"),
    path("accounts/token/", accounts.api_token_regenerate, name="api-token-regenerate"),
    # Workspaces
    path("workspaces/", workspaces.workspace_list, name="workspace-list"),
    path("workspaces/<int:pk>/", workspaces.workspace_detail, name="workspace-detail"),
    path("workspaces/<int:pk>/settings/", workspaces.workspace_settings, name="workspace-settings"),
    path("workspaces/<int:pk>/delete/", workspaces.workspace_delete, name="workspace-delete"),
    path("workspaces/<int:pk>/members/", workspaces.workspace_members, name="workspace-members"),
    path(
        "workspaces/<int:pk>/members/<int:member_pk>/",
        workspaces.member_update,
        name="workspace-member-update",
    ),
    # Assistants
    path("assistants/<int:pk>/", assistants.assistant_detail, name="assistant-detail"),
    path("assistants/<int:pk>/edit/", assistants.assistant_edit, name="assistant-edit"),
    path("assistants/<int:pk>/delete/", assistants.assistant_delete, name="assistant-delete"),
    # Designing an assistant
    path("assistants/<int:pk>/intents/", design.intent_list, name="intent-list"),
    path("intents/<int:pk>/", design.intent_detail, name="intent-detail"),
    path("assistants/<int:pk>/intents/fix/", language.intent_fix, name="intent-fix"),
    path("intents/<int:pk>/synthesis/", language.intent_synthesis, name="intent-synthesis"),
    path("assistants/<int:pk>/entities/", design.entity_list, name="entity-list"),
    path("assistants/<int:pk>/flow/", design.flow_editor, name="flow-editor"),
    path("assistants/<int:pk>/prompts/", prompts.prompt_list, name="prompt-list"),
    path("prompts/<int:pk>/", prompts.prompt_detail, name="prompt-detail"),
    path("prompts/<int:pk>/tests/", prompts.prompt_tests, name="prompt-tests"),
    path("prompt-test-runs/<int:pk>/", prompts.prompt_test_run, name="prompt-test-run"),
    # Conversation tests
    path("assistants/<int:pk>/tests/", conversation_tests.test_suite, name="test-suite"),
    path(
        "assistants/<int:pk>/tests/new/",
        conversation_tests.conversation_test_new,
        name="conversation-test-new",
    ),
    path(
        "assistants/<int:pk>/tests/save/",
        conversation_tests.conversation_test_save,
        name="conversation-test-save",
    ),
    path(
        "tests/<int:pk>/", conversation_tests.conversation_test_edit, name="conversation-test-edit"
    ),
    path(
        "test-runs/<int:pk>/",
        conversation_tests.conversation_test_run,
        name="conversation-test-run",
    ),
    # Evaluations
    path("assistants/<int:pk>/evaluations/", evaluations.evaluation_list, name="evaluation-list"),
    path("evaluations/<int:pk>/", evaluations.evaluation_detail, name="evaluation-detail"),
    path(
        "evaluations/<int:pk>/control/",
        evaluations.evaluation_control,
        name="evaluation-control",
    ),
    path(
        "evaluations/<int:pk>/report.json",
        evaluations.evaluation_download,
        name="evaluation-download",
    ),
    # Releases and transfers
    path("assistants/<int:pk>/publish/", releases.assistant_publish, name="assistant-publish"),
    path(
        "assistants/<int:pk>/versions/<int:number>/rollback/",
        releases.assistant_rollback,
        name="assistant-rollback",
    ),
    path("assistants/<int:pk>/export/", releases.assistant_download, name="assistant-download"),
    path("assistants/<int:pk>/nlu/<str:kind>/", releases.nlu_download, name="nlu-download"),
    path("assistants/<int:pk>/nlu-import/", releases.nlu_import, name="nlu-import"),
    path("workspaces/<int:pk>/import/", releases.assistant_import, name="assistant-import"),
    # Knowledge base, transcripts and usage
    path("assistants/<int:pk>/knowledge/", knowledge.knowledge_base, name="knowledge-base"),
    path(
        "knowledge/documents/<int:pk>/", knowledge.document_detail, name="knowledge-document-detail"
    ),
    path("assistants/<int:pk>/transcripts/", transcripts.transcript_list, name="transcript-list"),
    path("transcripts/<uuid:pk>/", transcripts.transcript_detail, name="transcript-detail"),
    path("workspaces/<int:pk>/usage/", usage.workspace_usage, name="workspace-usage"),
]
