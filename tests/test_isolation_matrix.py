"""The tenant isolation matrix: nothing of one workspace reaches a member of another.

``MATRIX`` has a row for every model that belongs to a workspace (every model of the project's
apps with a chain of foreign keys to ``Workspace``, found through ``django.apps``; the coverage
test fails when a model has no row, naming it). A row says how to make a realistic one in the
other workspace (``Rival.make_<name>``) and lists every page and API request that touches it:
list, read, change, delete, export, train, evaluate, query, chat, transcripts and usage. JSON
kept on a row (a training run's ``analysis``, an evaluation's ``report``) is covered by its row.

For each request a member of ``workspace`` (``owner``) is refused (404, or 400 where the id is
refused as a field), sees nothing of the other workspace, changes nothing in it (a snapshot of
all its rows before and after) and makes no LLM call; then the other workspace's own owner sends
the same request and is not refused, so a mistyped URL cannot pass as a refusal. ``listed`` are
the attacker's own lists and filters, which must not show the row; ``smuggled`` are the
attacker's own rows pointed at it. The websocket tests at the end cover the events and test-chat
sockets and the public chat of an unpublished assistant. Every URL and socket route must be tried
by some row (or be listed in ``NOT_WORKSPACE_DATA``), so a new endpoint fails the test too.

The core workspace, member and assistant requests come from ``tests/builder/test_tenancy.py``
(which also checks viewers); here they run again with the owner's control.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from rest_framework.test import APIClient

from benchmarks.fake_provider import FakeProvider, refusal
from builder import services
from chat.routing import public_websocket_urlpatterns, websocket_urlpatterns
from config.asgi import application
from core.models import (
    Assistant,
    AssistantVersion,
    ConversationTest,
    Entity,
    Flow,
    Intent,
    Membership,
    Prompt,
    PromptTestCase,
    PromptVersion,
    TrainingRun,
    Utterance,
    Workspace,
)
from gateway.calls import CallScope, complete, prompt_call
from gateway.errors import GatewayError
from gateway.models import Attempt, Call, LlmModel, Purpose, SemanticCacheEntry
from knowledge.ingest import document_ingest
from knowledge.models import Chunk, Document, DocumentReading, KnowledgeBase
from knowledge.services import document_upload, knowledge_base_of
from nlu.model import NluModel
from quality.models import ComparisonItem, ConversationTestRun, EvaluationRun, PromptTestRun
from quality.services.conversation_tests import conversation_test_create, conversation_tests_request
from quality.services.evaluations import evaluation_request
from quality.services.prompt_tests import prompt_test_case_create, prompt_tests_request
from runtime.models import Channel, Conversation, Feedback, Message, TurnRecord
from runtime.services import dialog_hear, dialog_open, dialog_start, feedback_record
from tests.support.tenancy import API as TENANCY_API
from tests.support.tenancy import PAGES as TENANCY_PAGES

MARK = b"rival"  # every text of the other workspace says it; no response to the attacker may


@dataclass(frozen=True)
class Upload:
    """A file for a multipart request (a fresh one each time it is sent)."""

    name: str
    content: bytes


@dataclass(frozen=True)
class Req:
    """One request. In ``url`` and ``data``, ``{o.…}`` is the row, ``{a.…}`` the other
    workspace's assistant, ``{w.…}`` the other workspace and ``{me.…}`` the attacker's own
    (``Mine``); a value that is one placeholder keeps its type (an id stays a number)."""

    method: str
    url: str
    data: Any = None
    api: bool = False  # the REST API (JSON, multipart with a file); else a page (a form)
    refused: tuple[int, ...] = (404,)


PLACEHOLDER = re.compile(r"\{(o|a|w|me)((?:\.\w+)*)\}")


def page(method: str, url: str, data: Any = None, refused: tuple[int, ...] = (404,)) -> Req:
    return Req(method, url, data, api=False, refused=refused)


def api(method: str, url: str, data: Any = None, refused: tuple[int, ...] = (404,)) -> Req:
    return Req(method, url, data, api=True, refused=refused)


@dataclass(frozen=True)
class Row:
    make: str  # Rival.make_<make>() makes one in the other workspace
    requests: tuple[Req, ...] = ()  # pages and API calls that touch it: each refused
    listed: tuple[Req, ...] = ()  # the attacker's own lists and filters: it is not in them
    smuggled: tuple[Req, ...] = ()  # the attacker's own rows pointed at it: refused
    elsewhere: str = ""  # "file::test" covering a row no request reaches


def _tenancy(kind: str) -> tuple[Req, ...]:
    """test_tenancy's requests about one kind of row, in this file's placeholders."""
    picked = []
    for is_api, requests in ((False, TENANCY_PAGES), (True, TENANCY_API)):
        for method, url, data in requests:
            about = "member" if "/members/" in url else "assistant" if "{a}" in url else "ws"
            if about == kind:
                url = url.replace("{w}", "{w.pk}").replace("{a}", "{a.pk}").replace("{m}", "{o.pk}")
                picked.append(Req(method, url, data, api=is_api))
    return tuple(picked)


PLANTED_TEST = {
    "name": "planted",
    "turns": [{"user": "hello", "expect": [{"kind": "no_match"}]}],
}
PLANTED_TEST_FORM = {"name": "planted", "turn-0-user": "hello", "turn-0-expect-0-kind": "no_match"}
RIVAL_UPLOAD = b"# Rival returns\n\nRival customers may return an item within ten days."
PLANTED_EXPORT = b'{"format": 1, "assistant": {"name": "Planted bot"}}'
GENERATE_WITH = {  # a flow whose one step runs prompt {o.pk}
    "start": "ask",
    "steps": [
        {"id": "ask", "type": "generate", "prompt": "{o.pk}", "next": "done"},
        {"id": "done", "type": "end", "text": "Done."},
    ],
}
PLANTED_WITH_FLOW = {
    "format": 1,
    "assistant": {"name": "Planted bot"},
    "flows": [{"name": "Main", "graph": GENERATE_WITH}],
}

# Models of the project's apps that reach Workspace through foreign keys but are left out on
# purpose, each with the reason. None are.
EXCLUDED: dict[str, str] = {}

MATRIX: dict[str, Row] = {
    "core.Workspace": Row(
        make="workspace",
        requests=(
            *_tenancy("ws"),
            page("get", "/workspaces/{w.pk}/import/"),
            page("post", "/workspaces/{w.pk}/import/", {"file": Upload("a.json", PLANTED_EXPORT)}),
            api("post", "/api/assistants/", {"workspace": "{w.pk}", "name": "Planted"}, (400,)),
            api(
                "post",
                "/api/assistants/import/",
                {"workspace": "{w.pk}", "document": {"format": 1, "assistant": {"name": "P"}}},
                (400,),
            ),
        ),
        listed=(
            page("get", "/workspaces/"),
            api("get", "/api/workspaces/"),
            api("get", "/api/assistants/?workspace={w.pk}"),
        ),
    ),
    "core.Membership": Row(make="membership", requests=_tenancy("member")),
    "core.Assistant": Row(
        make="assistant",
        requests=(
            *_tenancy("assistant"),
            page("get", "/assistants/{a.pk}/export/"),
            api("get", "/api/assistants/{a.pk}/export/?download=1"),
            api("post", "/api/assistants/{a.pk}/interact/", {"user": "u1", "text": "hello"}),
        ),
        listed=(api("get", "/api/assistants/"), page("get", "/workspaces/{me.workspace.pk}/")),
    ),
    "core.Intent": Row(
        make="intent",
        requests=(
            page("get", "/assistants/{a.pk}/intents/"),
            page("post", "/assistants/{a.pk}/intents/", {"name": "planted", "utterances": "x"}),
            page("get", "/intents/{o.pk}/"),
            page("post", "/intents/{o.pk}/", {"action": "describe", "description": "Planted"}),
            page("post", "/intents/{o.pk}/", {"action": "require", "required": ""}),
            page("post", "/intents/{o.pk}/", {"action": "delete"}),
            page("post", "/intents/{o.pk}/synthesis/"),
            page(
                "post",
                "/assistants/{a.pk}/intents/fix/",
                {"action": "add", "intent": "{o.pk}", "text": "planted words"},
            ),
            api("get", "/api/intents/{o.pk}/"),
            api("patch", "/api/intents/{o.pk}/", {"description": "Planted"}),
            api("put", "/api/intents/{o.pk}/", {"name": "planted"}),
            api("delete", "/api/intents/{o.pk}/"),
            api("get", "/api/intents/{o.pk}/utterances/"),
            api("post", "/api/intents/{o.pk}/utterances/", {"utterances": ["planted words"]}),
            api("post", "/api/intents/{o.pk}/suggestions/", {"count": 2}),
            api("post", "/api/intents/{o.pk}/synthesis/", {"count": 2}),
            api("post", "/api/intents/{o.pk}/merge/", {"into": "{o.pk}"}),
            api("post", "/api/intents/", {"assistant": "{a.pk}", "name": "planted"}, (400,)),
            api("get", "/api/assistants/{a.pk}/checks/"),
        ),
        listed=(api("get", "/api/intents/"), api("get", "/api/intents/?assistant={a.pk}")),
        smuggled=(
            api("post", "/api/intents/{me.intent.pk}/merge/", {"into": "{o.pk}"}),
            api("post", "/api/utterances/{me.utterance.pk}/move/", {"intent": "{o.pk}"}),
            page(
                "post",
                "/assistants/{me.assistant.pk}/intents/fix/",
                {"action": "merge", "source": "{me.intent.pk}", "into": "{o.pk}"},
            ),
            page(
                "post",
                "/assistants/{me.assistant.pk}/intents/fix/",
                {"action": "add", "intent": "{o.pk}", "text": "planted words"},
            ),
        ),
    ),
    "core.Utterance": Row(
        make="utterance",
        requests=(
            page("post", "/intents/{o.intent_id}/", {"action": "add", "utterances": "planted"}),
            page("post", "/intents/{o.intent_id}/", {"action": "remove", "utterance": "{o.pk}"}),
            page(
                "post",
                "/assistants/{a.pk}/intents/fix/",
                {"action": "edit", "utterance": "{o.pk}", "text": "planted"},
            ),
            page("get", "/assistants/{a.pk}/nlu/csv/"),
            page("get", "/assistants/{a.pk}/nlu/rasa/"),
            page("get", "/assistants/{a.pk}/nlu-import/"),
            page(
                "post",
                "/assistants/{a.pk}/nlu-import/",
                {"kind": "csv", "file": Upload("nlu.csv", b"text,intent\nplanted words,planted\n")},
            ),
            api("get", "/api/utterances/{o.pk}/"),
            api("patch", "/api/utterances/{o.pk}/", {"text": "planted"}),
            api("put", "/api/utterances/{o.pk}/", {"text": "planted", "entities": []}),
            api("delete", "/api/utterances/{o.pk}/"),
            api("post", "/api/utterances/{o.pk}/move/", {"intent": "{o.intent_id}"}),
            api("get", "/api/assistants/{a.pk}/nlu/?kind=csv"),
            api("get", "/api/assistants/{a.pk}/nlu/?kind=rasa"),
            api(
                "post",
                "/api/assistants/{a.pk}/nlu/",
                {"format": "csv", "content": "text,intent\nplanted words,planted\n"},
            ),
        ),
        smuggled=(
            page(
                "post",
                "/assistants/{me.assistant.pk}/intents/fix/",
                {"action": "delete", "utterance": "{o.pk}"},
            ),
            page(
                "post",
                "/intents/{me.intent.pk}/",
                {"action": "remove", "utterance": "{o.pk}"},
            ),
        ),
    ),
    "core.Entity": Row(
        make="entity",
        requests=(
            page("get", "/assistants/{a.pk}/entities/"),
            page("post", "/assistants/{a.pk}/entities/", {"name": "planted", "kind": "list"}),
            page("post", "/assistants/{a.pk}/entities/", {"action": "delete", "entity": "{o.pk}"}),
            api("get", "/api/entities/{o.pk}/"),
            api("patch", "/api/entities/{o.pk}/", {"values": [{"value": "x", "synonyms": []}]}),
            api("put", "/api/entities/{o.pk}/", {"kind": "regex", "pattern": "x+"}),
            api("delete", "/api/entities/{o.pk}/"),
            api("post", "/api/entities/{o.pk}/suggestions/", {"count": 2}),
            api("post", "/api/entities/", {"assistant": "{a.pk}", "name": "planted"}, (400,)),
        ),
        listed=(api("get", "/api/entities/"), api("get", "/api/entities/?assistant={a.pk}")),
        smuggled=(
            page(
                "post",
                "/assistants/{me.assistant.pk}/entities/",
                {"action": "delete", "entity": "{o.pk}"},
            ),
        ),
    ),
    "core.Flow": Row(
        make="flow",
        requests=(
            page("get", "/assistants/{a.pk}/flow/"),
            api("get", "/api/flows/{o.pk}/"),
            api("patch", "/api/flows/{o.pk}/", {"name": "Planted"}),
            api("put", "/api/flows/{o.pk}/", {"name": "Planted", "graph": "{o.graph}"}),
            api("delete", "/api/flows/{o.pk}/"),
            api(
                "post",
                "/api/flows/",
                {"assistant": "{a.pk}", "name": "Planted", "graph": "{o.graph}"},
                (400,),
            ),
        ),
        listed=(api("get", "/api/flows/"), api("get", "/api/flows/?assistant={a.pk}")),
    ),
    "core.AssistantVersion": Row(
        make="assistantversion",
        requests=(
            page("post", "/assistants/{a.pk}/publish/", {"notes": "planted"}),
            page("post", "/assistants/{a.pk}/versions/{o.number}/rollback/"),
            api("get", "/api/assistants/{a.pk}/versions/"),
            api("post", "/api/assistants/{a.pk}/versions/", {"notes": "planted"}),
            api("post", "/api/assistants/{a.pk}/versions/{o.number}/rollback/"),
        ),
        smuggled=(api("post", "/api/assistants/{me.assistant.pk}/versions/{o.number}/rollback/"),),
    ),
    # The draft model the test panel and parse use, and its ``analysis`` (clarity, conflicts).
    "core.TrainingRun": Row(
        make="trainingrun",
        requests=(
            api("get", "/api/assistants/{a.pk}/training/"),
            api("post", "/api/assistants/{a.pk}/training/"),
            api("post", "/api/assistants/{a.pk}/parse/", {"text": "I want a rival pizza"}),
            api("get", "/api/assistants/{a.pk}/analysis/"),
        ),
    ),
    "quality.EvaluationRun": Row(
        make="evaluationrun",
        requests=(
            page("get", "/assistants/{a.pk}/evaluations/"),
            page("post", "/assistants/{a.pk}/evaluations/", {"kind": "holdout"}),
            page("get", "/evaluations/{o.pk}/"),
            page("post", "/evaluations/{o.pk}/control/", {"action": "stop"}),
            page("get", "/evaluations/{o.pk}/report.json"),
            api("get", "/api/assistants/{a.pk}/evaluations/"),
            api("post", "/api/assistants/{a.pk}/evaluations/", {"kind": "kfold", "folds": 2}),
            api("get", "/api/evaluations/{o.pk}/"),
            api("post", "/api/evaluations/{o.pk}/control/", {"action": "stop"}),
        ),
    ),
    # What a comparison asked the LLM, shown in (and resumed from) its run.
    "quality.ComparisonItem": Row(
        make="comparisonitem",
        requests=(
            page("get", "/evaluations/{o.run_id}/"),
            page("get", "/evaluations/{o.run_id}/report.json"),
            page("post", "/evaluations/{o.run_id}/control/", {"action": "resume"}),
            api("get", "/api/evaluations/{o.run_id}/"),
            api("post", "/api/evaluations/{o.run_id}/control/", {"action": "resume"}),
        ),
    ),
    "core.Prompt": Row(
        make="prompt",
        requests=(
            page("get", "/assistants/{a.pk}/prompts/"),
            page(
                "post",
                "/assistants/{a.pk}/prompts/",
                {"name": "planted", "template": "Hi", "temperature": 0.3, "max_tokens": 50},
            ),
            page("get", "/prompts/{o.pk}/"),
            api("get", "/api/prompts/{o.pk}/"),
            api("delete", "/api/prompts/{o.pk}/"),
            api("post", "/api/prompts/{o.pk}/run/", {"values": {"topic": "pizza"}}),
            api(
                "post",
                "/api/prompts/",
                {"assistant": "{a.pk}", "name": "planted", "first_version": {"template": "Hi"}},
                (400,),
            ),
        ),
        listed=(api("get", "/api/prompts/"), api("get", "/api/prompts/?assistant={a.pk}")),
        smuggled=(
            api("patch", "/api/flows/{me.flow.pk}/", {"graph": GENERATE_WITH}, (400,)),
            api(
                "post",
                "/api/assistants/import/",
                {"workspace": "{me.workspace.pk}", "document": PLANTED_WITH_FLOW},
                (400,),
            ),
        ),
    ),
    "core.PromptVersion": Row(
        make="promptversion",
        requests=(
            page(
                "post",
                "/prompts/{o.prompt_id}/",
                {"template": "Planted", "temperature": 0.3, "max_tokens": 50},
            ),
            api("get", "/api/prompts/{o.prompt_id}/versions/"),
            api("post", "/api/prompts/{o.prompt_id}/versions/", {"template": "Planted"}),
            api("post", "/api/prompts/{o.prompt_id}/run/", {"version": "{o.number}"}),
            api("get", "/api/prompt-versions/{o.pk}/test-runs/"),
        ),
    ),
    "core.PromptTestCase": Row(
        make="prompttestcase",
        requests=(
            page(
                "post",
                "/prompts/{o.prompt_id}/tests/",
                {"action": "add", "name": "planted", "checks": "contains: x"},
            ),
            page("post", "/prompts/{o.prompt_id}/tests/", {"action": "delete", "case": "{o.pk}"}),
            api("get", "/api/prompts/{o.prompt_id}/test-cases/"),
            api(
                "post",
                "/api/prompts/{o.prompt_id}/test-cases/",
                {"name": "planted", "checks": [{"kind": "contains", "value": "x"}]},
            ),
            api("get", "/api/prompt-test-cases/{o.pk}/"),
            api("delete", "/api/prompt-test-cases/{o.pk}/"),
        ),
        smuggled=(
            page(
                "post",
                "/prompts/{me.prompt.pk}/tests/",
                {"action": "delete", "case": "{o.pk}"},
                (302,),
            ),
        ),
    ),
    "quality.PromptTestRun": Row(
        make="prompttestrun",
        requests=(
            page("get", "/prompt-test-runs/{o.pk}/"),
            page("post", "/prompts/{o.version.prompt_id}/tests/", {"repetitions": 1}),
            api("get", "/api/prompt-test-runs/{o.pk}/"),
            api("get", "/api/prompt-versions/{o.version_id}/test-runs/"),
            api("post", "/api/prompt-versions/{o.version_id}/test-runs/", {"repetitions": 1}),
        ),
    ),
    # Conversation tests: scripts played against the draft, and their runs.
    "core.ConversationTest": Row(
        make="conversationtest",
        requests=(
            page("get", "/assistants/{a.pk}/tests/"),
            page("post", "/assistants/{a.pk}/tests/", {"suite": ""}),
            page("post", "/assistants/{a.pk}/tests/", {"action": "require", "required": "on"}),
            page("get", "/assistants/{a.pk}/tests/new/"),
            page("post", "/assistants/{a.pk}/tests/new/", PLANTED_TEST_FORM),
            page("get", "/tests/{o.pk}/"),
            page("post", "/tests/{o.pk}/", PLANTED_TEST_FORM),
            page("post", "/tests/{o.pk}/", {"action": "delete"}),
            api("get", "/api/assistants/{a.pk}/conversation-tests/"),
            api("post", "/api/assistants/{a.pk}/conversation-tests/", PLANTED_TEST),
            api("get", "/api/conversation-tests/{o.pk}/"),
            api("put", "/api/conversation-tests/{o.pk}/", PLANTED_TEST),
            api("delete", "/api/conversation-tests/{o.pk}/"),
        ),
        listed=(
            page("get", "/assistants/{me.assistant.pk}/tests/"),
            api("get", "/api/assistants/{me.assistant.pk}/conversation-tests/"),
        ),
    ),
    "quality.ConversationTestRun": Row(
        make="conversationtestrun",
        requests=(
            page("get", "/test-runs/{o.pk}/"),
            api("get", "/api/conversation-test-runs/{o.pk}/"),
            api("get", "/api/assistants/{a.pk}/conversation-test-runs/"),
            api("post", "/api/assistants/{a.pk}/conversation-test-runs/", {"suite": ""}),
        ),
        listed=(api("get", "/api/assistants/{me.assistant.pk}/conversation-test-runs/"),),
    ),
    # The ledger: each call's inputs and output (backtests replay the failed ones).
    "gateway.Call": Row(
        make="call",
        requests=(
            page(
                "post",
                "/prompts/{o.prompt_version.prompt_id}/tests/",
                {"action": "backtest", "call": "{o.pk}"},
            ),
            api("get", "/api/prompts/{o.prompt_version.prompt_id}/backtests/"),
            api("post", "/api/prompts/{o.prompt_version.prompt_id}/backtests/", {"call": "{o.pk}"}),
        ),
        listed=(api("get", "/api/prompts/{me.prompt.pk}/backtests/"),),
        smuggled=(
            api("post", "/api/prompts/{me.prompt.pk}/backtests/", {"call": "{o.pk}"}, (400,)),
            page(
                "post",
                "/prompts/{me.prompt.pk}/tests/",
                {"action": "backtest", "call": "{o.pk}"},
                (302,),
            ),
        ),
    ),
    # Usage: tokens, cost and latency per day, assistant and model.
    "gateway.Attempt": Row(
        make="attempt",
        requests=(
            page("get", "/workspaces/{w.pk}/usage/"),
            page("get", "/workspaces/{w.pk}/usage/?assistant={a.pk}&days=7"),
            api("get", "/api/usage/?workspace={w.pk}"),
            api("get", "/api/usage/?workspace={w.pk}&assistant={a.pk}"),
        ),
        listed=(
            page("get", "/workspaces/{me.workspace.pk}/usage/?assistant={a.pk}"),
            api("get", "/api/usage/?workspace={me.workspace.pk}"),
        ),
        smuggled=(api("get", "/api/usage/?workspace={me.workspace.pk}&assistant={a.pk}"),),
    ),
    # No page or API reads the cache; a lookup is scoped to the asking workspace.
    "gateway.SemanticCacheEntry": Row(
        make="semanticcacheentry",
        elsewhere="tests/gateway/test_calls.py::"
        "test_the_semantic_cache_answers_a_rephrased_question_within_its_scope_only",
    ),
    "knowledge.KnowledgeBase": Row(
        make="knowledgebase",
        requests=(
            page("get", "/assistants/{a.pk}/knowledge/"),
            page(
                "post",
                "/assistants/{a.pk}/knowledge/",
                {"action": "settings", "top_k": 5, "min_score": 0.1, "fusion": "rrf"}
                | {"chunk_tokens": 160, "overlap_tokens": 32},
            ),
            api("get", "/api/assistants/{a.pk}/knowledge/"),
            api("patch", "/api/assistants/{a.pk}/knowledge/", {"top_k": 7}),
        ),
    ),
    "knowledge.Document": Row(
        make="document",
        requests=(
            page("get", "/knowledge/documents/{o.pk}/"),
            page(
                "post",
                "/assistants/{a.pk}/knowledge/",
                {"action": "upload", "files": Upload("planted.md", b"# Planted\n\nPlanted.")},
            ),
            page(
                "post",
                "/assistants/{a.pk}/knowledge/",
                {"action": "link", "url": "https://planted.example/"},
            ),
            page(
                "post", "/assistants/{a.pk}/knowledge/", {"action": "refresh", "document": "{o.pk}"}
            ),
            page(
                "post", "/assistants/{a.pk}/knowledge/", {"action": "delete", "document": "{o.pk}"}
            ),
            api("get", "/api/assistants/{a.pk}/knowledge/documents/"),
            api(
                "post",
                "/api/assistants/{a.pk}/knowledge/documents/",
                {"file": Upload("planted.md", b"# Planted\n\nPlanted.")},
            ),
            api("get", "/api/knowledge/documents/{o.pk}/"),
            api("delete", "/api/knowledge/documents/{o.pk}/"),
            api("post", "/api/knowledge/documents/{o.pk}/refresh/"),
        ),
        listed=(api("get", "/api/assistants/{me.assistant.pk}/knowledge/documents/"),),
        smuggled=(
            page(
                "post",
                "/assistants/{me.assistant.pk}/knowledge/",
                {"action": "delete", "document": "{o.pk}"},
            ),
            page(
                "post",
                "/assistants/{me.assistant.pk}/knowledge/",
                {"action": "refresh", "document": "{o.pk}"},
            ),
        ),
    ),
    # A document's reading (a job): where it is and how it ended show on its document.
    "knowledge.DocumentReading": Row(
        make="documentreading",
        requests=(
            page("get", "/knowledge/documents/{o.document_id}/"),
            api("get", "/api/knowledge/documents/{o.document_id}/"),
            api("post", "/api/knowledge/documents/{o.document_id}/refresh/"),
        ),
    ),
    "knowledge.Chunk": Row(
        make="chunk",
        requests=(
            page("get", "/knowledge/documents/{o.document_id}/"),
            api("get", "/api/knowledge/documents/{o.document_id}/chunks/"),
            api(
                "post",
                "/api/assistants/{a.pk}/knowledge/query/",
                {"question": "How long do returns take?", "mode": "retrieve"},
            ),
            api(
                "post",
                "/api/assistants/{a.pk}/knowledge/query/",
                {"question": "How long do returns take?", "mode": "answer"},
            ),
        ),
        listed=(
            api(
                "post",
                "/api/assistants/{me.assistant.pk}/knowledge/query/",
                {"question": "How long do returns take?", "mode": "retrieve"},
            ),
        ),
    ),
    "runtime.Conversation": Row(
        make="conversation",
        requests=(
            page("get", "/assistants/{a.pk}/transcripts/"),
            page("get", "/assistants/{a.pk}/transcripts/?q=pizza&channel=test"),
            page("get", "/transcripts/{o.pk}/"),
            api("get", "/api/assistants/{a.pk}/conversations/"),
            api("get", "/api/conversations/{o.pk}/"),
            api(
                "post",
                "/api/assistants/{a.pk}/interact/",
                {"user": "{o.end_user}", "conversation": "{o.pk}", "text": "hello"},
            ),
            page("post", "/assistants/{a.pk}/tests/save/", {"conversation": "{o.pk}"}),
            api(
                "post",
                "/api/assistants/{a.pk}/conversation-tests/from-conversation/",
                {"conversation": "{o.pk}"},
            ),
        ),
        listed=(
            page("get", "/assistants/{me.assistant.pk}/transcripts/?q=pizza"),
            api("get", "/api/assistants/{me.assistant.pk}/conversations/?q=pizza"),
        ),
        smuggled=(
            page(
                "post",
                "/assistants/{me.assistant.pk}/tests/save/",
                {"conversation": "{o.pk}"},
                (302,),
            ),
            api(
                "post",
                "/api/assistants/{me.assistant.pk}/conversation-tests/from-conversation/",
                {"conversation": "{o.pk}"},
                (400,),
            ),
        ),
    ),
    # End users' thumbs up or down on the assistant's messages.
    "runtime.Feedback": Row(
        make="feedback",
        requests=(
            api(
                "post",
                "/api/assistants/{a.pk}/feedback/",
                {
                    "user": "{o.conversation.end_user}",
                    "conversation": "{o.conversation_id}",
                    "seq": "{o.seq}",
                    "rating": "up",
                },
            ),
        ),
    ),
    "runtime.Message": Row(
        make="message",
        requests=(
            page("get", "/transcripts/{o.conversation_id}/"),
            api("get", "/api/conversations/{o.conversation_id}/"),
            api("get", "/api/assistants/{a.pk}/conversations/?q=pizza"),
        ),
    ),
    # How each turn was understood: in transcripts, and the NLU's usage.
    "runtime.TurnRecord": Row(
        make="turnrecord",
        requests=(
            page("get", "/transcripts/{o.conversation_id}/"),
            api("get", "/api/conversations/{o.conversation_id}/"),
            api("get", "/api/assistants/{a.pk}/conversations/?path={o.path}"),
            api("get", "/api/usage/nlu/?workspace={w.pk}"),
        ),
        listed=(api("get", "/api/usage/nlu/?workspace={me.workspace.pk}"),),
        smuggled=(api("get", "/api/usage/nlu/?workspace={me.workspace.pk}&assistant={a.pk}"),),
    ),
}


# The sockets of an assistant: members only. The public web chat serves the published version.
MEMBER_SOCKETS = ["/ws/assistants/{a.pk}/events/", "/ws/assistants/{a.pk}/test-chat/"]
PUBLIC_SOCKETS = ["/ws/chat/{a.pk}/"]

# URLs that serve no workspace's data (a trailing * covers everything under it), with reasons.
NOT_WORKSPACE_DATA = {
    "": "redirects to the workspace list",
    "accounts/*": "the signed-in user's own account, password and API token",
    "admin/*": "Django's admin, for staff only",
    "api/": "the API's index",
    "api/auth/token/": "the caller's own API token",
    "api/llm-models/*": "the model catalogue, shared by every workspace; staff change it",
    "api/schema/": "the API's description",
    "api/docs/": "the API's description",
    "demo/": "the public page of the demo assistant",
}


# --- which models belong to a workspace ----------------------------------------------------


def _path_to_workspace(model: type[models.Model], *, nullable: bool) -> str | None:
    """The shortest chain of foreign keys from ``model`` to Workspace, as a lookup."""
    queue: deque[tuple[type[models.Model], str]] = deque([(model, "")])
    seen = {model}
    while queue:
        current, path = queue.popleft()
        if current is Workspace:
            return path or "pk"
        for field in current._meta.get_fields():
            target = field.related_model
            if not (field.concrete and (field.many_to_one or field.one_to_one)):
                continue
            if (
                (nullable or not getattr(field, "null", True))
                and isinstance(target, type)
                and target not in seen
            ):
                seen.add(target)
                queue.append((target, f"{path}__{field.name}" if path else field.name))
    return None


@cache
def workspace_owned() -> dict[str, str]:
    """Every concrete model of the project's own apps (packages at the repository root) that
    belongs to a workspace, with its lookup to that workspace."""
    owned = {}
    for config in apps.get_app_configs():
        if Path(config.path).parent != Path(settings.BASE_DIR):
            continue  # Django's and third parties' apps
        for model in config.get_models():
            # Its owner: through keys that are never empty if it can, else through any.
            path = _path_to_workspace(model, nullable=False) or _path_to_workspace(
                model, nullable=True
            )
            if path is not None and not model._meta.proxy:
                owned[model._meta.label] = path
    return owned


def test_the_matrix_has_a_row_for_every_workspace_owned_model() -> None:
    owned = set(workspace_owned())
    missing = sorted(owned - set(MATRIX) - set(EXCLUDED))
    gone = sorted(set(MATRIX) - owned)
    assert not missing, (
        f"Workspace-owned models with no row in MATRIX: {', '.join(missing)}. Add a Row with a "
        "factory and every page, API and socket request that touches them (or, with a reason, "
        "to EXCLUDED)."
    )
    assert not gone, f"MATRIX rows for models that no longer belong to a workspace: {gone}."
    assert not set(EXCLUDED) & set(MATRIX)


def test_the_search_for_workspace_owned_models_finds_them_and_only_them() -> None:
    owned = workspace_owned()
    assert owned["core.Workspace"] == "pk"
    assert owned["core.Utterance"] == "intent__assistant__workspace"
    assert owned["knowledge.Chunk"] == "knowledge_base__assistant__workspace"
    assert owned["core.PromptTestCase"] == "prompt__assistant__workspace"  # not source_call
    assert owned["gateway.Attempt"] == "workspace"
    assert not {"auth.User", "gateway.LlmModel", "gateway.Provider"} & set(owned)


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_each_row_is_exercised(label: str) -> None:
    row = MATRIX[label]
    assert callable(getattr(Rival, f"make_{row.make}", None)), f"Rival has no make_{row.make}"
    if row.requests:
        return
    assert row.elsewhere, f"{label}: no request reaches it; say which test covers it instead"
    file, _, name = row.elsewhere.partition("::")
    source = Path(settings.BASE_DIR, file)
    assert source.is_file(), row.elsewhere
    assert f"def {name}(" in source.read_text(), row.elsewhere


def _routes(patterns: list[Any], prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, (*prefix, pattern.pattern))
        else:
            yield (*prefix, pattern.pattern)


def _route_regex(parts: tuple[Any, ...]) -> str:
    """A route as a regex that a URL with any value in place of each id matches."""
    regex = ""
    for part in parts:
        if isinstance(part, RegexPattern):
            regex += str(part).removeprefix("^").removesuffix("$")
        else:
            regex += re.sub(r"<(?:\w+:)?\w+>", "[^/]+", re.escape(str(part)))
    return regex


def _serves_no_workspace_data(route: str) -> bool:
    return any(
        route == key or (key.endswith("*") and route.startswith(key[:-1]))
        for key in NOT_WORKSPACE_DATA
    )


def test_every_url_and_socket_is_in_the_matrix_or_serves_no_workspaces_data() -> None:
    tried = {
        PLACEHOLDER.sub("1", req.url).lstrip("/").partition("?")[0]
        for row in MATRIX.values()
        for req in (*row.requests, *row.listed, *row.smuggled)
    }
    tried |= {PLACEHOLDER.sub("1", path).lstrip("/") for path in MEMBER_SOCKETS + PUBLIC_SOCKETS}
    routes = [*_routes(get_resolver().url_patterns)]
    routes += [(pattern.pattern,) for pattern in websocket_urlpatterns]
    routes += [(pattern.pattern,) for pattern in public_websocket_urlpatterns]
    untried = []
    for parts in routes:
        route = "".join(str(part).removeprefix("^") for part in parts)
        if "<format>" in route or "format_suffix" in route or _serves_no_workspace_data(route):
            continue  # the API's ".json" variants answer like the routes they suffix
        if not any(re.fullmatch(_route_regex(parts), url) for url in tried):
            untried.append(route)
    assert not untried, (
        f"URLs no MATRIX request tries: {untried}. Add them to the rows of the models they "
        "touch (or, if they serve no workspace's data, to NOT_WORKSPACE_DATA)."
    )


# --- the other workspace's rows, each made when a test needs it ----------------------------

RIVAL_FLOW = {
    "start": "hello",
    "triggers": [{"intent": "rival_order", "next": "ordered"}],
    "steps": [
        {"id": "hello", "type": "message", "text": "Rival pizza here. What will it be?"},
        {"id": "ordered", "type": "end", "text": "Your rival pizza is on its way."},
    ],
}


class Rival:
    """``outsider``'s workspace and assistant (its LLM the fake server's), and its rows."""

    def __init__(
        self,
        owner: User,
        workspace: Workspace,
        assistant: Assistant,
        llm: LlmModel,
        fake: FakeProvider,
    ) -> None:
        self.owner, self.workspace, self.assistant = owner, workspace, assistant
        self.llm, self.fake = llm, fake
        services.assistant_llm_policy_update(
            assistant=assistant,
            model=llm,
            requests_per_minute=None,
            tokens_per_minute=None,
            monthly_budget=None,
            injection_judge=False,
        )
        self.made: dict[str, Any] = {}

    def get(self, label: str) -> Any:
        if label not in self.made:
            self.made[label] = getattr(self, f"make_{MATRIX[label].make}")()
        return self.made[label]

    def context(self, row: Any, me: Mine | None = None) -> dict[str, Any]:
        return {"o": row, "a": self.assistant, "w": self.workspace, "me": me}

    def make_workspace(self) -> Workspace:
        return self.workspace

    def make_membership(self) -> Membership:
        return Membership.objects.get(workspace=self.workspace, user=self.owner)

    def make_assistant(self) -> Assistant:
        return self.assistant

    def make_intent(self) -> Intent:
        services.intent_create(
            assistant=self.assistant,
            name="rival_hours",
            utterances=[
                "when does the rival open",
                "rival opening hours",
                "is the rival open on sunday",
                "what time does the rival close",
            ],
        )
        return services.intent_create(
            assistant=self.assistant,
            name="rival_order",
            description="A customer orders a rival pizza.",
            utterances=[
                "I want a rival pizza",
                "order a rival margherita",
                "one large rival pizza please",
                "can I get a rival pizza",
            ],
        )

    def make_utterance(self) -> Utterance:
        return self.get("core.Intent").utterances.order_by("id").first()

    def make_entity(self) -> Entity:
        return services.entity_create(
            assistant=self.assistant,
            name="rival_size",
            values=[{"value": "rival large", "synonyms": ["rival big"]}],
        )

    def make_flow(self) -> Flow:
        self.get("core.Intent")
        return services.flow_create(assistant=self.assistant, name="Rival flow", graph=RIVAL_FLOW)

    def make_trainingrun(self) -> TrainingRun:
        """A trained draft, with its analysis (what the test panel and parse use)."""
        self.get("core.Intent")
        run = services.training_request(assistant=self.assistant)
        return services.training_run_execute(run.pk)

    def make_assistantversion(self) -> AssistantVersion:
        self.get("core.Flow")
        self.get("core.TrainingRun")
        return services.assistant_publish(assistant=self.assistant, notes="The rival release.")

    def make_evaluationrun(self) -> EvaluationRun:
        self.get("core.Intent")
        return evaluation_request(assistant=self.assistant, kind="holdout")

    def make_comparisonitem(self) -> ComparisonItem:
        self.get("core.Intent")
        run = evaluation_request(
            assistant=self.assistant, kind="compare", llm_model=self.llm.key, max_items=4
        )
        answer = {"confidence": 1.0, "alternatives": [], "latency_ms": 2.0, "cpu_seconds": 0.0}
        answer |= {"predicted": "rival_order", "llm": None, "error": False}
        return ComparisonItem.objects.create(run=run, index=0, record={"nlu": answer})

    def make_prompt(self) -> Prompt:
        return services.prompt_create(
            assistant=self.assistant,
            name="rival_slogan",
            template="Write a rival slogan about {{ topic }}.",
            model=self.llm,
        )

    def make_promptversion(self) -> PromptVersion:
        return services.prompt_version_create(
            prompt=self.get("core.Prompt"),
            template="Write a shorter rival slogan about {{ topic }}.",
            model=self.llm,
        )

    def make_prompttestcase(self) -> PromptTestCase:
        return prompt_test_case_create(
            prompt=self.get("core.Prompt"),
            name="rival case",
            values={"topic": "rival pizza"},
            checks=[{"kind": "contains", "value": "rival"}],
        )

    def make_prompttestrun(self) -> PromptTestRun:
        case = self.get("core.PromptTestCase")
        return prompt_tests_request(version=case.prompt.versions.first(), repetitions=1)

    def make_conversationtest(self) -> ConversationTest:
        self.get("core.Flow")
        return conversation_test_create(
            assistant=self.assistant,
            name="rival order test",
            turns=[
                {
                    "user": "I want a rival pizza",
                    "expect": [{"kind": "intent", "value": "rival_order"}],
                }
            ],
        )

    def make_conversationtestrun(self) -> ConversationTestRun:
        self.get("core.ConversationTest")
        self.get("core.TrainingRun")
        return conversation_tests_request(assistant=self.assistant)

    def make_call(self) -> Call:
        """A production call of the rival's prompt that the model refused (a backtest)."""
        version = self.get("core.Prompt").versions.first()
        self.fake.script("primary", refusal("No rival slogans today."))
        options = prompt_call(
            version,
            {"topic": "the rival secret recipe"},
            purpose=Purpose.GENERATE,
            workspace_id=self.workspace.pk,
            assistant_id=self.assistant.pk,
        )
        with suppress(GatewayError):  # the ledger has it either way
            complete(**options, cache="off")
        return Call.objects.get(workspace=self.workspace, prompt_version=version)

    def make_attempt(self) -> Attempt:
        return self.get("gateway.Call").attempts.first()

    def make_semanticcacheentry(self) -> SemanticCacheEntry:
        scope = CallScope(
            "generate", workspace_id=self.workspace.pk, assistant_id=self.assistant.pk
        )
        asked = [{"role": "user", "content": "When does the rival open?"}]
        complete(asked, scope=scope, model=self.llm, cache="semantic")
        return SemanticCacheEntry.objects.get(workspace=self.workspace)

    def make_knowledgebase(self) -> KnowledgeBase:
        return knowledge_base_of(self.assistant)

    def make_document(self) -> Document:
        kb = self.get("knowledge.KnowledgeBase")
        return document_upload(kb, name="rival-returns.md", data=RIVAL_UPLOAD, tags=["rival"])

    def make_documentreading(self) -> DocumentReading:
        return self.get("knowledge.Document").readings.latest("pk")  # queued with the upload

    def make_chunk(self) -> Chunk:
        reading = self.get("knowledge.DocumentReading")
        document_ingest(reading.pk)  # as the background task does once the upload commits
        return reading.document.chunks.get()

    def make_conversation(self) -> Conversation:
        """A conversation in the test panel with the trained draft."""
        self.get("core.Flow")
        self.get("core.TrainingRun")
        return Conversation.objects.get(pk=async_to_sync(self._chat)("I want a rival pizza"))

    async def _chat(self, text: str) -> str:
        async def keep(frame: dict[str, Any]) -> None:
            pass

        dialog = await dialog_open(
            assistant_id=self.assistant.pk, channel=Channel.TEST, end_user="rival-customer"
        )
        await dialog_start(dialog, keep)
        await dialog_hear(dialog, text, keep)
        return dialog.conversation_id

    def make_message(self) -> Message:
        return self.get("runtime.Conversation").messages.get(from_user=True)

    def make_feedback(self) -> Feedback:
        """A thumbs-down over the dialog HTTP API (ratings there name the API's conversations)."""
        conversation = Conversation.objects.create(
            assistant=self.assistant, channel=Channel.API, end_user="rival-api-customer"
        )
        Message.objects.create(
            conversation=conversation, seq=1, payload={"type": "text", "text": "Rival hello"}
        )
        return feedback_record(str(conversation.pk), 1, "down", "rival said")

    def make_turnrecord(self) -> TurnRecord:
        said = self.get("runtime.Message")  # the user's turn, not the greeting
        return self.get("runtime.Conversation").turns.get(seq=said.seq)


class Mine:
    """The attacker's own workspace and a few of its rows, to point at the rival's ids."""

    def __init__(self, workspace: Workspace, assistant: Assistant) -> None:
        self.workspace, self.assistant = workspace, assistant
        self.intent = services.intent_create(
            assistant=assistant,
            name="order_food",
            utterances=["I want to order", "food please", "can I order dinner", "menu order"],
        )
        services.intent_create(
            assistant=assistant,
            name="opening_hours",
            utterances=["when do you open", "opening hours", "are you open today", "closing time"],
        )
        self.utterance = self.intent.utterances.order_by("id").first()
        self.prompt = services.prompt_create(
            assistant=assistant, name="greeting", template="Greet {{ name }} warmly."
        )
        self.flow = services.flow_create(
            assistant=assistant,
            name="Main",
            graph={"start": "hi", "steps": [{"id": "hi", "type": "end", "text": "Hello!"}]},
        )


@pytest.fixture(scope="session")
def trained_models() -> dict[str, NluModel]:
    return {}


@pytest.fixture(autouse=True)
def train_once(monkeypatch: pytest.MonkeyPatch, trained_models: dict[str, NluModel]) -> None:
    """The same data trains the same model: trained once for the session, not once per test."""
    train = NluModel.train.__func__  # type: ignore[attr-defined]

    def once(cls: type[NluModel], examples: list[Any], **options: Any) -> NluModel:
        if options.get("previous") is not None or options.get("validation") is not None:
            return train(cls, examples, **options)
        key = repr((examples, options.get("matcher"), options.get("config")))
        if key not in trained_models:
            trained_models[key] = train(cls, examples, **options)
        return trained_models[key]

    monkeypatch.setattr(NluModel, "train", classmethod(once))


@pytest.fixture
def in_test_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialog runs in ``database_sync_to_async``, which closes a connection that is inside a
    transaction: the test's own. Here it stays open, so tests need no real commits."""
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def rival(
    outsider: User,
    other_workspace: Workspace,
    other_assistant: Assistant,
    primary: LlmModel,
    fake: FakeProvider,
) -> Rival:
    return Rival(outsider, other_workspace, other_assistant, primary, fake)


@pytest.fixture
def mine(workspace: Workspace, assistant: Assistant) -> Mine:
    return Mine(workspace, assistant)


# --- sending a request ------------------------------------------------------------------------


def _resolve(match: re.Match[str], context: dict[str, Any]) -> Any:
    value = context[match[1]]
    for name in match[2].split(".")[1:]:
        value = getattr(value, name)
    return value


def fill(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return _resolve(whole, context)
        return PLACEHOLDER.sub(lambda match: str(_resolve(match, context)), value)
    if isinstance(value, dict):
        return {key: fill(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fill(item, context) for item in value]
    if isinstance(value, Upload):
        return SimpleUploadedFile(value.name, value.content)
    return value


@dataclass
class Clients:
    page: Client
    api: APIClient


@pytest.fixture
def clients(
    client_for: Callable[[User], Client], api_for: Callable[[User], APIClient]
) -> Callable[[User], Clients]:
    return lambda user: Clients(client_for(user), api_for(user))


def send(clients: Clients, req: Req, context: dict[str, Any]) -> HttpResponse:
    url, data = fill(req.url, context), fill(req.data, context)
    if not req.api:
        return getattr(clients.page, req.method)(url, data or {})
    files = isinstance(data, dict) and any(isinstance(v, SimpleUploadedFile) for v in data.values())
    return getattr(clients.api, req.method)(url, data, format="multipart" if files else "json")


def snapshot(workspace: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Every row of every workspace-owned model that belongs to ``workspace``."""
    rows = {}
    for label, path in workspace_owned().items():
        values = apps.get_model(label).objects.filter(**{path: workspace.pk}).order_by("pk")
        rows[label] = [
            {key: bytes(v) if isinstance(v, memoryview) else v for key, v in row.items()}
            for row in values.values()
        ]
    return rows


def _cases(kind: str) -> Iterator[Any]:
    for label, row in MATRIX.items():
        for req in getattr(row, kind):
            action = req.data.get("action") if isinstance(req.data, dict) else None
            name = f"{label} {req.method.upper()} {req.url}" + (f" {action}" if action else "")
            yield pytest.param(label, req, id=name)


# --- the refusals ---------------------------------------------------------------------------


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize(("label", "req"), list(_cases("requests")))
def test_a_member_of_another_workspace_is_refused_and_its_owner_is_not(
    rival: Rival,
    owner: User,
    clients: Callable[[User], Clients],
    fake: FakeProvider,
    label: str,
    req: Req,
) -> None:
    context = rival.context(rival.get(label))
    before, asked = snapshot(rival.workspace), len(fake.requests)

    refused = send(clients(owner), req, context)

    assert refused.status_code in req.refused, refused.content[:300]
    assert MARK not in refused.content.lower()
    assert snapshot(rival.workspace) == before
    assert len(fake.requests) == asked, "an LLM was asked on the other workspace's behalf"

    served = send(clients(rival.owner), req, context)

    assert served.status_code not in (403, 404), (
        f"its owner is refused too: {served.content[:300]!r}"
    )


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize(("label", "req"), list(_cases("listed")))
def test_the_members_own_lists_and_filters_leave_the_other_workspace_out(
    rival: Rival, mine: Mine, owner: User, clients: Callable[[User], Clients], label: str, req: Req
) -> None:
    context = rival.context(rival.get(label), mine)

    response = send(clients(owner), req, context)

    assert response.status_code == 200, response.content[:300]
    assert MARK not in response.content.lower()


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize(("label", "req"), list(_cases("smuggled")))
def test_the_members_own_rows_cannot_be_pointed_at_the_other_workspaces(
    rival: Rival, mine: Mine, owner: User, clients: Callable[[User], Clients], label: str, req: Req
) -> None:
    context = rival.context(rival.get(label), mine)
    before = snapshot(rival.workspace)

    response = send(clients(owner), req, context)

    assert response.status_code in req.refused, response.content[:300]
    assert MARK not in response.content.lower()
    assert snapshot(rival.workspace) == before
    assert MARK.decode() not in str(snapshot(mine.workspace)).lower(), "its data was copied"


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize("label", sorted(MATRIX))
def test_each_factory_makes_a_row_of_the_other_workspace(rival: Rival, label: str) -> None:
    made = rival.get(label)
    model = apps.get_model(label)
    path = workspace_owned()[label]
    assert isinstance(made, model)
    assert model.objects.filter(**{path: rival.workspace.pk}).filter(pk=made.pk).exists()


# --- websockets -----------------------------------------------------------------------------


async def socket(
    path: str, user: User | None, client_for: Callable[[User], Client]
) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = await sync_to_async(client_for)(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.fixture
def trained_rival(rival: Rival, transactional_db: None) -> Rival:
    """The rival assistant with a flow and a trained draft, never published."""
    with transaction.atomic():  # one training, when this commits
        rival.get("core.Flow")
    assert rival.assistant.training_runs.filter(status="done").exists()
    return rival


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", MEMBER_SOCKETS)
async def test_the_assistants_sockets_refuse_a_member_of_another_workspace(
    trained_rival: Rival, owner: User, client_for: Callable[[User], Client], path: str
) -> None:
    url = fill(path, trained_rival.context(None))

    refused, connected = await socket(url, owner, client_for)
    assert not connected
    await refused.disconnect()
    served, connected = await socket(url, trained_rival.owner, client_for)
    assert connected
    await served.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_assistants_events_reach_its_own_members_only(
    trained_rival: Rival,
    owner: User,
    assistant: Assistant,
    client_for: Callable[[User], Client],
) -> None:
    mine, connected = await socket(f"/ws/assistants/{assistant.pk}/events/", owner, client_for)
    assert connected
    theirs, connected = await socket(
        f"/ws/assistants/{trained_rival.assistant.pk}/events/", trained_rival.owner, client_for
    )
    assert connected

    await sync_to_async(services.assistant_update)(
        assistant=trained_rival.assistant, name="Rival bot renamed"
    )

    assert (await theirs.receive_json_from(timeout=5))["type"] == "assistant.updated"
    assert await mine.receive_nothing(timeout=0.5)
    await mine.disconnect()
    await theirs.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("signed_in", [True, False])
async def test_the_public_chat_does_not_serve_an_unpublished_draft(
    trained_rival: Rival, owner: User, client_for: Callable[[User], Client], signed_in: bool
) -> None:
    url = fill(PUBLIC_SOCKETS[0], trained_rival.context(None))

    chat, connected = await socket(url, owner if signed_in else None, client_for)
    assert connected  # the web chat opens from this server's pages
    await chat.send_json_to({"type": "hello", "user": "curious"})
    answer = await chat.receive_json_from(timeout=5)
    await chat.disconnect()

    assert (answer["type"], answer["code"]) == ("error", "unavailable")
    assert not await sync_to_async(Conversation.objects.filter(channel=Channel.WIDGET).exists)()
    # The draft itself works, for its own members in the test panel.
    panel, connected = await socket(
        f"/ws/assistants/{trained_rival.assistant.pk}/test-chat/", trained_rival.owner, client_for
    )
    assert connected
    await panel.send_json_to({"type": "hello", "user": "builder"})
    assert (await panel.receive_json_from(timeout=5))["type"] == "welcome"
    await panel.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_test_chat_does_not_resume_another_workspaces_conversation(
    trained_rival: Rival,
    owner: User,
    assistant: Assistant,
    workspace: Workspace,
    client_for: Callable[[User], Client],
) -> None:
    theirs = await sync_to_async(trained_rival.get)("runtime.Conversation")

    def train_mine() -> None:
        with transaction.atomic():
            Mine(workspace, assistant)

    await sync_to_async(train_mine)()
    chat, connected = await socket(f"/ws/assistants/{assistant.pk}/test-chat/", owner, client_for)
    assert connected
    await chat.send_json_to(
        {"type": "hello", "user": theirs.end_user, "conversation": str(theirs.pk), "last_seq": 0}
    )
    welcome = await chat.receive_json_from(timeout=5)
    frames = []
    while not await chat.receive_nothing(timeout=0.3):
        frames.append(await chat.receive_json_from())
    await chat.disconnect()

    assert (welcome["type"], welcome["resumed"]) == ("welcome", False)
    assert welcome["conversation"] != str(theirs.pk)
    assert "rival" not in str(frames).lower()
