"""Intents, entities, flows, training and the test parse through the REST API."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Flow, Intent
from tests.nlu.conftest import UTTERANCES


def create(client, path: str, body: dict):
    return client.post(f"/api/{path}/", body, format="json")


@pytest.mark.django_db(transaction=True)
def test_a_script_builds_trains_and_tests_an_assistant(api_for, editor, assistant):
    client = api_for(editor)
    size = create(
        client,
        "entities",
        {
            "assistant": assistant.pk,
            "name": "size",
            "values": [{"value": "large", "synonyms": ["big"]}],
        },
    )
    assert size.status_code == 201, size.json()
    for name in ("order_pizza", "track_order", "opening_hours"):
        created = create(
            client,
            "intents",
            {"assistant": assistant.pk, "name": name, "utterances": UTTERANCES[name]},
        )
        assert created.status_code == 201, created.json()
        assert created.json()["utterance_count"] == len(UTTERANCES[name])

    runs = client.get(f"/api/assistants/{assistant.pk}/training/").json()
    parsed = client.post(
        f"/api/assistants/{assistant.pk}/parse/", {"text": "a big pizza to go"}, format="json"
    ).json()

    assert runs[0]["status"] == "done"
    assert parsed["intent"] == "order_pizza"
    assert parsed["ranking"][0]["intent"] == "order_pizza"
    assert parsed["entities"][0] | {"source": "list"} == {
        "entity": "size", "start": 2, "end": 5, "text": "big", "value": "large", "source": "list"
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_creators_confidence_threshold_overrides_the_calibrated_one(api_for, editor, assistant):
    client = api_for(editor)
    for name in ("order_pizza", "track_order", "opening_hours"):
        create(
            client,
            "intents",
            {"assistant": assistant.pk, "name": name, "utterances": UTTERANCES[name]},
        )

    def parse() -> dict[str, Any]:
        return client.post(
            f"/api/assistants/{assistant.pk}/parse/", {"text": "a big pizza to go"}, format="json"
        ).json()

    calibrated = parse()
    strict = client.patch(
        f"/api/assistants/{assistant.pk}/", {"nlu_threshold": 0.999}, format="json"
    )
    refused = parse()
    bad = client.patch(f"/api/assistants/{assistant.pk}/", {"nlu_threshold": 1.5}, format="json")
    client.patch(f"/api/assistants/{assistant.pk}/", {"nlu_threshold": None}, format="json")

    assert calibrated["intent"] == "order_pizza"
    assert strict.status_code == 200
    assert refused["intent"] is None
    assert refused["ranking"][0]["intent"] == "order_pizza"  # still ranked, just not trusted
    assert bad.status_code == 400
    assert parse()["intent"] == "order_pizza"  # empty again: the calibrated threshold


def test_before_any_training_the_parse_says_so(api_for, editor, assistant):
    response = api_for(editor).post(
        f"/api/assistants/{assistant.pk}/parse/", {"text": "hello"}, format="json"
    )
    assert response.status_code == 409
    assert "no trained model" in response.json()["detail"]


def test_bulk_utterances_and_search(api_for, editor, assistant):
    client = api_for(editor)
    intent = create(client, "intents", {"assistant": assistant.pk, "name": "greet"}).json()
    url = f"/api/intents/{intent['id']}/utterances/"

    added = client.post(url, {"utterances": ["hello", "hi there", "Hello"]}, format="json")
    found = client.get(url, {"search": "THERE"})

    assert [u["text"] for u in added.json()] == ["hello", "hi there"]
    assert [u["text"] for u in found.json()] == ["hi there"]


def test_a_flow_with_problems_is_refused_naming_each_step_and_nothing_is_saved(
    api_for, editor, assistant
):
    graph = {
        "start": "hello",
        "steps": [
            {"id": "hello", "type": "message", "text": "Hi {{name}}", "next": "gone"},
            {"id": "lost", "type": "end"},
        ],
    }

    response = create(
        api_for(editor), "flows", {"assistant": assistant.pk, "name": "Main", "graph": graph}
    )

    assert response.status_code == 400
    assert response.json()["graph"] == [
        "step 'hello', next: Connects to a step that does not exist ('gone').",
        "step 'hello', text: Uses the variable 'name', which nothing sets.",
        "step 'lost', id: No path leads to this step.",
    ]
    assert not Flow.objects.exists()


def test_a_valid_flow_is_saved_and_can_be_replaced(api_for, editor, assistant):
    client = api_for(editor)
    graph: dict[str, Any] = {
        "start": "hi",
        "steps": [
            {"id": "hi", "type": "message", "text": "Hi", "next": "bye"},
            {"id": "bye", "type": "end"},
        ],
    }
    flow = create(
        client, "flows", {"assistant": assistant.pk, "name": "Main", "graph": graph}
    ).json()

    graph["steps"][0]["text"] = "Hello!"
    updated = client.patch(f"/api/flows/{flow['id']}/", {"graph": graph}, format="json")

    assert updated.status_code == 200
    assert Flow.objects.get().graph["steps"][0]["text"] == "Hello!"


def test_viewers_and_outsiders_cannot_change_nlu_data(api_for, viewer, outsider, assistant):
    body = {"assistant": assistant.pk, "name": "greet"}

    assert create(api_for(viewer), "intents", body).status_code == 403
    assert create(api_for(outsider), "intents", body).status_code == 400  # not their assistant
    assert not Intent.objects.exists()


def test_another_workspaces_intents_are_invisible(api_for, editor, outsider, assistant):
    intent = create(api_for(editor), "intents", {"assistant": assistant.pk, "name": "greet"}).json()
    client = api_for(outsider)

    assert client.get(f"/api/intents/{intent['id']}/").status_code == 404
    assert client.get(f"/api/intents/{intent['id']}/utterances/").status_code == 404
    assert client.get("/api/intents/").json()["results"] == []


def test_the_training_mode_is_a_setting_of_the_assistant(api_for, editor, assistant):
    client = api_for(editor)
    url = f"/api/assistants/{assistant.pk}/"

    default = client.get(url).json()["nlu_mode"]
    switched = client.patch(url, {"nlu_mode": "accurate"}, format="json")
    bad = client.patch(url, {"nlu_mode": "thorough"}, format="json")

    assert default == "fast"
    assert switched.status_code == 200
    assert switched.json()["nlu_mode"] == "accurate"
    assert bad.status_code == 400
    assert "nlu_mode" in bad.json()
    assert client.get(url).json()["nlu_mode"] == "accurate"  # the bad value changed nothing


@pytest.mark.django_db(transaction=True)
def test_deleting_what_a_flow_uses_is_refused_naming_the_place(api_for, editor, assistant):
    from builder import services

    size = services.entity_create(assistant=assistant, name="size", values=[{"value": "large"}])
    colour = services.entity_create(assistant=assistant, name="colour", values=[{"value": "red"}])
    order = services.intent_create(assistant=assistant, name="order")
    greet = services.intent_create(assistant=assistant, name="greet")
    services.flow_create(
        assistant=assistant,
        name="Main",
        graph={
            "start": "ask_size",
            "triggers": [{"intent": "order", "next": "ask_size"}],
            "steps": [
                {
                    "id": "ask_size",
                    "type": "capture",
                    "entity": "size",
                    "variable": "size",
                    "next": "bye",
                },
                {"id": "bye", "type": "end"},
            ],
        },
    )
    client = api_for(editor)

    refused = client.delete(f"/api/entities/{size.pk}/")
    assert refused.status_code == 400
    assert "flow Main, step ask_size captures it" in str(refused.json())
    refused = client.delete(f"/api/intents/{order.pk}/")
    assert refused.status_code == 400
    assert "flow Main, global trigger to step ask_size routes on it" in str(refused.json())
    assert Intent.objects.filter(pk=order.pk).exists()
    assert assistant.entities.filter(pk=size.pk).exists()

    assert client.delete(f"/api/entities/{colour.pk}/").status_code == 204
    assert client.delete(f"/api/intents/{greet.pk}/").status_code == 204
