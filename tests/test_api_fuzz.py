"""API fuzzing: Schemathesis against the product's own OpenAPI schema, over every operation.

The schema is drf-spectacular's, exactly what ``/api/schema/`` serves. Each operation is one test
on a fresh database, seeded through the API by a workspace owner (staff, so that the catalogue's
writes are reached too): a member, an assistant with an entity, intents and utterances (trained), a
flow, a prompt with a test case and a run, a published version, an evaluation, a conversation, a
conversation test and its run, and a knowledge-base document. Requests go to the ASGI application
served by uvicorn on loopback, with the owner's API token. Path parameters, and ids and keys in
bodies and queries, are often swapped for the seeded ones, so requests get past the 404s and
"no such object" answers into the views.

Every response must be no server error (no 5xx) and conform to the schema: a documented status
code, content type and headers, and a body valid against the documented schema. Examples come in
both of Schemathesis' modes: data the schema allows, and data that breaks it on purpose.

CI runs a bounded, derandomized number of examples per operation (``FUZZ_EXAMPLES``, default
20). A longer run by hand, with a fresh seed, and each operation's status codes written out::

    FUZZ_EXAMPLES=200 FUZZ_SEED=random FUZZ_REPORT=/tmp/answers.json \
        .venv/bin/pytest tests/test_api_fuzz.py -k every_response

Nothing leaves the machine: LLM calls go to a loopback fake provider that answers every task, and
the outbound address check resolves no host name, so URL documents and API-call steps never reach
the network.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from django.contrib.auth import get_user_model
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from benchmarks.fake_provider import FakeProvider, Reply
from builder import services
from gateway.models import LlmModel, Provider, ProviderKind
from tests.browser.conftest import serving
from tests.nlu.conftest import UTTERANCES

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
FUZZ_SEED = os.environ.get("FUZZ_SEED", "0")  # "random": a new seed each run

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# One answer that parses as every structured output the product asks for (pydantic ignores the
# keys a task does not use), and reads as plain text where a task wants text.
LLM_ANSWER = json.dumps(
    {
        "utterances": ["could you help me with my order"],
        "values": [{"value": "large", "synonyms": ["big"]}],
        "intent": "none",
        "injection": False,
        "passed": True,
        "reason": "fine",
    }
)


def _openapi() -> dict[str, Any]:
    """The schema ``/api/schema/`` serves, as JSON."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


schema = schemathesis.openapi.from_dict(_openapi())

# Status codes each operation answered; FUZZ_REPORT=path.json writes them out after the run.
ANSWERS: defaultdict[str, Counter[str]] = defaultdict(Counter)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if path := os.environ.get("FUZZ_REPORT"):
        Path(path).write_text(json.dumps(ANSWERS, indent=1, sort_keys=True))


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeProvider]:
    with FakeProvider(Reply(LLM_ANSWER)) as provider:
        yield provider


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The ASGI application served by uvicorn on loopback, as in production."""
    with serving() as url:
        yield url


@dataclass
class Seed:
    """What the fuzzer aims at: the owner's token, the seeded objects' ids by the URL segment
    before them (``/api/intents/{id}/`` takes ``paths["intents"]``), and values for the body
    and query fields of the same names."""

    token: str
    paths: dict[str, list[Any]] = field(default_factory=dict)
    fields: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def _no_outbound_lookups(host: str, *args: Any, **kwargs: Any) -> Any:
    raise OSError(f"the fuzz test resolves no host names ({host})")


GRAPH = {
    "start": "greet",
    "triggers": [{"intent": "order_pizza", "next": "ask"}],
    "steps": [
        {"id": "greet", "type": "message", "text": "Hi! What can I do?"},
        {"id": "ask", "type": "capture", "entity": "size", "variable": "size",
         "prompt": "Which size?", "next": "done"},
        {"id": "done", "type": "end", "text": "A {{size}} pizza, coming up."},
    ],
}  # fmt: skip


@pytest.fixture
def seed(
    transactional_db: None,
    live_url: str,
    llm: FakeProvider,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Seed:
    """A workspace with one of everything in it, made through the API by its owner."""
    monkeypatch.setattr("core.outbound.socket", SimpleNamespace(getaddrinfo=_no_outbound_lookups))
    settings.LLM_DEFAULT_MODEL = "fuzz:primary"
    settings.LLM_BACKOFF_BASE_S = 0.001
    settings.LLM_BACKOFF_CAP_S = 0.01
    provider = Provider.objects.create(
        key="fuzz", kind=ProviderKind.OPENAI, base_url=llm.base_url, api_key_env=""
    )
    backup = LlmModel.objects.create(key="fuzz:backup", provider=provider, name="backup")
    primary = LlmModel.objects.create(
        key="fuzz:primary", provider=provider, name="primary", supports_json_schema=True,
        fallback=backup,
    )  # fmt: skip
    users = get_user_model().objects
    owner = users.create_user("olivia", "olivia@example.com", "a-long-test-passphrase")
    owner.is_staff = True  # the catalogue's writes are staff-only
    owner.save()
    users.create_user("eddie", "eddie@example.com", "a-long-test-passphrase")
    users.create_user("vera", "vera@example.com", "a-long-test-passphrase")
    found = Seed(token=Token.objects.create(user=owner).key)
    api = requests.Session()
    api.headers.update(found.headers)

    def post(path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        response = api.post(f"{live_url}/api/{path}", json=body, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    def get(path: str) -> Any:
        response = api.get(f"{live_url}/api/{path}")
        assert response.status_code == 200, (path, response.text)
        return response.json()

    workspace = post("workspaces/", {"name": "Acme support"})["id"]
    member = post(f"workspaces/{workspace}/members/", {"user": "eddie", "role": "editor"})["id"]
    assistant = post(
        "assistants/", {"workspace": workspace, "name": "Order bot", "llm_model": primary.key}
    )["id"]
    values = [{"value": "large", "synonyms": ["big"]}]
    size = post("entities/", {"assistant": assistant, "name": "size", "values": values})["id"]
    rows = io.StringIO()
    csv.writer(rows).writerows((text, name) for name, texts in UTTERANCES.items() for text in texts)
    # One import, so one training, for all the intents.
    post(f"assistants/{assistant}/nlu/", {"format": "csv", "content": rows.getvalue()})
    intents = [row["id"] for row in get(f"intents/?assistant={assistant}")["results"]]
    utterances = [row["id"] for row in get(f"intents/{intents[0]}/utterances/")]
    flow = post("flows/", {"assistant": assistant, "name": "Main", "graph": GRAPH})["id"]
    first_version = {"template": "Greet {{name}} warmly.", "model": primary.key}
    prompt = post(
        "prompts/", {"assistant": assistant, "name": "Greeting", "first_version": first_version}
    )["id"]
    version = get(f"prompts/{prompt}/versions/")["results"][0]["id"]
    ann = {"name": "Ann", "values": {"name": "Ann"}, "checks": [{"kind": "contains", "value": "o"}]}
    case = post(f"prompts/{prompt}/test-cases/", ann)["id"]
    prompt_run = post(f"prompt-versions/{version}/test-runs/", {"repetitions": 1})["id"]
    published = post(f"assistants/{assistant}/versions/", {"notes": "first"})["number"]
    test_set = "".join(
        json.dumps({"text": texts[0], "intent": name}) + "\n" for name, texts in UTTERANCES.items()
    )
    evaluation = post(
        f"assistants/{assistant}/evaluations/",
        data={"kind": "test_set"},
        files={"test_set": ("set.jsonl", test_set.encode())},
    )["id"]
    conversation = post(f"assistants/{assistant}/interact/", {"user": "u1", "text": "a big pizza"})[
        "conversation"
    ]
    conversation_test = post(
        f"assistants/{assistant}/conversation-tests/from-conversation/",
        {"conversation": conversation},
    )["id"]
    conversation_run = post(f"assistants/{assistant}/conversation-test-runs/", {})["id"]
    document = post(
        f"assistants/{assistant}/knowledge/documents/",
        files={"file": ("hours.md", b"# Opening hours\n\nWe open at nine, every day.\n")},
    )["id"]
    found.paths = {
        "workspaces": [workspace],
        "members": [member],
        "assistants": [assistant],
        "intents": intents,
        "utterances": utterances,
        "entities": [size],
        "flows": [flow],
        "prompts": [prompt],
        "prompt-versions": [version],
        "prompt-test-cases": [case],
        "prompt-test-runs": [prompt_run],
        "versions": [published],
        "evaluations": [evaluation],
        "conversations": [conversation],
        "conversation-tests": [conversation_test],
        "conversation-test-runs": [conversation_run],
        "documents": [document],
        "llm-models": [primary.pk, backup.pk],
    }
    found.fields = {
        "workspace": [workspace],
        "assistant": [assistant],
        "intent": intents,
        "into": intents,
        "version": [1],
        "conversation": [conversation],
        "user": ["u1", "vera"],  # an end user of the conversation; an account to add
        "llm_model": [primary.key, backup.key],
        "model": [primary.key, backup.key],
        "fallback": [primary.key, backup.key],
        "provider": [provider.key],
        "graph": [GRAPH],
        "values": [{"name": "Ann"}, values],
        "document": [get(f"assistants/{assistant}/export/")],
    }
    return found


def _aim(case: schemathesis.Case, data: st.DataObject, seed: Seed) -> None:
    """Often swap what was generated for seeded ids and values, so requests reach real objects
    and get past the first validation."""
    segments = case.path.strip("/").split("/")
    for before, segment in itertools.pairwise(segments):
        name = segment.strip("{}")
        if segment.startswith("{") and name in (case.path_parameters or {}):
            _swap(case.path_parameters, name, seed.paths.get(before, []), data)
    for fields in (case.query, case.body):
        if isinstance(fields, dict):
            for name in list(fields):
                _swap(fields, name, seed.fields.get(name, []), data)


def _swap(fields: dict[str, Any], name: str, known: list[Any], data: st.DataObject) -> None:
    """Three times in four, a seeded value instead of the generated one."""
    if not known:
        return
    if data.draw(st.integers(0, 3), label=f"seeded {name}"):
        fields[name] = data.draw(st.sampled_from(known), label=name)


def _fuzz_settings(test: Any) -> Any:
    test = hypothesis.settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(test)
    if FUZZ_SEED != "random":
        test = hypothesis.seed(int(FUZZ_SEED))(test)
    return test


@schema.parametrize()
@schema.given(data=st.data())
@_fuzz_settings
def test_every_response_is_no_server_error_and_conforms_to_the_schema(
    case: schemathesis.Case, data: st.DataObject, seed: Seed, live_url: str
) -> None:
    _aim(case, data, seed)
    response = case.call(base_url=live_url, headers=seed.headers, timeout=60)
    ANSWERS[f"{case.method} {case.path}"][str(response.status_code)] += 1
    case.validate_response(response, checks=CHECKS, headers=seed.headers)


# --- What the fuzzer found, pinned -------------------------------------------------------------


def test_a_workspace_patch_without_a_name_changes_nothing(api_for, owner, workspace):
    response = api_for(owner).patch(f"/api/workspaces/{workspace.pk}/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme support"


def test_a_token_request_whose_body_is_not_an_object_is_refused(db):
    response = APIClient().post("/api/auth/token/", "-443", content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize(
    "utterance",
    [
        '["a", "list"]',
        "7",
        '{"text": "hello there", "entities": 5}',
        '{"text": "hi", "entities": [{"start": 1e400, "end": 2, "entity": "size"}]}',
    ],
)
def test_utterances_of_the_wrong_shape_are_refused(api_for, owner, assistant, utterance):
    intent = services.intent_create(assistant=assistant, name="greet", utterances=["hello"])
    response = api_for(owner).post(
        f"/api/intents/{intent.pk}/utterances/",
        f'{{"utterances": [{utterance}]}}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "utterances" in response.json()


def test_required_entities_that_are_not_a_list_of_objects_are_refused(api_for, owner, assistant):
    response = api_for(owner).post(
        "/api/intents/",
        {"assistant": assistant.pk, "name": "order", "required_entities": ["size"]},
        format="json",
    )

    assert response.status_code == 400
    assert "required_entities" in response.json()


def test_text_with_a_nul_character_is_refused_before_the_database(api_for, owner, assistant):
    client = api_for(owner)
    body = client.patch(f"/api/assistants/{assistant.pk}/", {"llm_model": "a\x00b"}, format="json")
    form = client.post("/api/workspaces/", {"name": "a\x00b"})
    intent = services.intent_create(assistant=assistant, name="greet", utterances=["hello"])
    query = client.get(f"/api/intents/{intent.pk}/utterances/", {"search": "a\x00b"})

    assert body.status_code == form.status_code == query.status_code == 400
    assert "NUL" in body.json()["detail"]
    assert "NUL" in query.json()["search"][0]


def test_an_unknown_api_url_answers_json(api_for, owner):
    response = api_for(owner).get("/api/assistants/not-a-number/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_csv_import_reads_carriage_returns_and_refuses_what_csv_cannot_read(
    api_for, owner, assistant
):
    client = api_for(owner)
    url = f"/api/assistants/{assistant.pk}/nlu/"

    mac = client.post(url, {"format": "csv", "content": "\r\x0b-F,x\rhi,greet"}, format="json")
    huge = client.post(url, {"format": "csv", "content": "a" * 200_000 + ",greet"}, format="json")

    assert mac.status_code == 200
    assert mac.json()["intents_created"] == ["x", "greet"]
    assert huge.status_code == 400
    assert "cannot be read" in huge.json()["file"][0]


@pytest.mark.parametrize("given", ["²", "936778364476531146752", "9" * 5000])
def test_a_query_id_no_row_can_have_matches_nothing(api_for, owner, workspace, given):
    client = api_for(owner)

    assert client.get("/api/intents/", {"assistant": given}).json()["results"] == []
    assert client.get("/api/assistants/", {"workspace": given}).json()["results"] == []
    usage = client.get("/api/usage/", {"workspace": given})
    days = client.get("/api/usage/", {"workspace": workspace.pk, "days": given})
    assert usage.status_code in (400, 404)
    assert days.status_code == 400


def test_the_schema_documents_the_error_answers():
    operation = _openapi()["paths"]["/api/intents/{id}/"]["patch"]

    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
