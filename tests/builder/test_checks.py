"""Pre-train checks: each problem in the NLU data is found, named and shown; none blocks a run."""

from __future__ import annotations

import pytest
from django.db import transaction

from builder import services
from builder.services.checks import pretrain_checks
from core.models import Assistant, Utterance

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = ["I want a pizza", "order a pizza", "a large pizza please", "pizza for two", "get me food"]


@pytest.fixture
def messy(assistant: Assistant) -> Assistant:
    with transaction.atomic():
        services.entity_create(
            assistant=assistant, name="size", kind="list", values=[{"value": "large"}]
        )
        services.entity_create(
            assistant=assistant, name="colour", kind="list", values=[{"value": "red"}]
        )
        services.intent_create(
            assistant=assistant,
            name="order_pizza",
            utterances=[
                *({"text": text} for text in ORDERS),
                {
                    "text": "a large one",
                    "entities": [{"start": 2, "end": 7, "entity": "size", "value": "large"}],
                },
                {"text": "I want a pizza!"},
            ],
        )
        services.intent_create(
            assistant=assistant,
            name="track_order",
            utterances=[
                {"text": "where is my order"},
                {"text": "order a pizza"},
                {"text": "x" * 400},
            ],
        )
        # Data that came in before its entity existed (an old import, say).
        Utterance.objects.create(
            intent=assistant.intents.get(name="order_pizza"),
            text="a thin one",
            entities=[{"start": 2, "end": 6, "entity": "crust", "value": "thin"}],
        )
        services.flow_create(
            assistant=assistant,
            name="Main",
            graph={
                "start": "hi",
                "triggers": [{"intent": "order_pizza", "next": "hi"}],
                "steps": [{"id": "hi", "type": "message", "text": "Hello"}],
            },
        )
    return assistant


def kinds(findings):
    return sorted(finding.kind for finding in findings)


def test_every_kind_of_problem_is_found(messy):
    findings = pretrain_checks(messy)

    assert kinds(findings) == [
        "duplicate",
        "duplicate_across_intents",
        "long_utterance",
        "too_few_utterances",
        "unknown_entity",
        "unreachable_intent",
        "unused_entity",
    ]
    by_kind = {finding.kind: finding for finding in findings}
    assert by_kind["duplicate_across_intents"].intents == ["order_pizza", "track_order"]
    assert "“crust”" in by_kind["unknown_entity"].message
    assert by_kind["unknown_entity"].utterances == ["a thin one"]
    assert "“colour”" in by_kind["unused_entity"].message
    assert by_kind["duplicate"].utterances == ["I want a pizza", "I want a pizza!"]
    assert by_kind["unreachable_intent"].intents == ["track_order"]
    assert by_kind["too_few_utterances"].intents == ["track_order"]


def test_the_checks_show_on_the_intents_page_and_in_the_api(messy, client_for, api_for, viewer):
    page = client_for(viewer).get(f"/assistants/{messy.pk}/intents/").content.decode()
    listed = api_for(viewer).get(f"/api/assistants/{messy.pk}/checks/").json()["checks"]

    assert "Before the next training: 7 things to look at" in page
    assert "is an example of order_pizza, track_order: keep it in one." in page
    assert sorted(item["kind"] for item in listed) == kinds(pretrain_checks(messy))


def test_the_training_runs_anyway_and_keeps_what_the_checks_said(messy):
    run = messy.training_runs.first()

    assert run is not None
    assert run.status == "done"
    assert {item["kind"] for item in run.metrics["checks"]} >= {"unknown_entity", "duplicate"}


def test_clean_data_has_nothing_to_report(assistant):
    with transaction.atomic():
        for name, texts in {
            "order_pizza": ORDERS,
            "track_order": ["where is it", "track my order", "how long", "is it coming", "eta?"],
        }.items():
            services.intent_create(
                assistant=assistant, name=name, utterances=[{"text": t} for t in texts]
            )

    assert pretrain_checks(assistant) == []
