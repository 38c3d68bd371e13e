"""Intents, utterances and entities: validation, and the draft model trained after each save."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from builder import services
from core import nlu_data
from core.models import Assistant, EntityKind, TrainingRun, TrainingStatus
from nlu.store import registry
from tests.nlu.conftest import UTTERANCES


@pytest.fixture
def size(assistant: Assistant):
    return services.entity_create(
        assistant=assistant,
        name="size",
        values=[{"value": "large", "synonyms": ["big", "XL"]}, {"value": "small"}],
    )


def test_saving_intents_trains_a_draft_model_that_understands_them(
    assistant, size, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("order_pizza", "track_order", "opening_hours"):
            services.intent_create(assistant=assistant, name=name, utterances=UTTERANCES[name])

    run = TrainingRun.objects.filter(assistant=assistant).first()
    assert run is not None
    assert (run.status, run.progress) == (TrainingStatus.DONE, 1.0), run.error
    parsed = registry().published_model(assistant.pk, "draft").parse("a big pizza please")
    assert parsed.intent == "order_pizza"
    assert [(e.entity, e.value) for e in parsed.entities] == [("size", "large")]


def test_edits_in_one_transaction_share_one_training(assistant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.intent_create(assistant=assistant, name="a", utterances=["one"])
        services.intent_create(assistant=assistant, name="b", utterances=["two"])

    assert TrainingRun.objects.filter(assistant=assistant).count() == 1


def test_an_assistant_with_one_intent_gets_a_clear_training_error(
    assistant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.intent_create(assistant=assistant, name="greet", utterances=["hi", "hello"])

    run = TrainingRun.objects.get(assistant=assistant)
    assert run.status == TrainingStatus.FAILED
    assert "two intents" in run.error


def test_bulk_utterances_skip_duplicates_and_refuse_bad_lines_by_number(assistant, size):
    intent = services.intent_create(assistant=assistant, name="order", utterances=["a pizza"])

    added = services.utterances_add(
        intent=intent, utterances=["A pizza", "two pizzas", "two pizzas"]
    )
    assert [u.text for u in added] == ["two pizzas"]

    with pytest.raises(ValidationError) as refused:
        services.utterances_add(intent=intent, utterances=["fine", "   ", "x" * 1001])
    assert refused.value.message_dict["utterances"] == [
        "line 2: An utterance cannot be blank.",
        "line 3: An utterance has at most 1000 characters.",
    ]
    assert intent.utterances.count() == 2  # nothing of the refused batch was saved


def test_annotations_must_fit_the_text_and_name_a_known_entity(assistant, size):
    intent = services.intent_create(assistant=assistant, name="order")
    good = {"text": "a large pizza", "entities": [{"start": 2, "end": 7, "entity": "size"}]}

    (utterance,) = services.utterances_add(intent=intent, utterances=[good])
    assert utterance.entities == [{"start": 2, "end": 7, "entity": "size", "value": "large"}]

    for bad, message in [
        ({"text": "a pizza", "entities": [{"start": 2, "end": 40, "entity": "size"}]}, "outside"),
        ({"text": "a pizza", "entities": [{"start": 0, "end": 1, "entity": "colour"}]}, "colour"),
    ]:
        with pytest.raises(ValidationError, match=message):
            services.utterances_add(intent=intent, utterances=[bad])


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"kind": EntityKind.REGEX, "pattern": "([a-z"}, "pattern"),
        ({"kind": EntityKind.BUILTIN, "builtin": "colour"}, "builtin"),
        ({"kind": EntityKind.LIST, "values": []}, "values"),
        ({"kind": EntityKind.LIST, "values": [{"value": "a"}, {"value": "A"}]}, "values"),
        ({"kind": "sql"}, "kind"),
    ],
)
def test_an_invalid_entity_is_refused_on_the_field_at_fault(assistant, fields, error_field):
    with pytest.raises(ValidationError) as refused:
        services.entity_create(assistant=assistant, name="thing", **fields)

    assert error_field in refused.value.message_dict
    assert not assistant.entities.exists()


def test_an_entity_used_in_annotations_cannot_be_deleted(assistant, size):
    intent = services.intent_create(assistant=assistant, name="order")
    annotated = {"text": "a large one", "entities": [{"start": 2, "end": 7, "entity": "size"}]}
    services.utterances_add(intent=intent, utterances=[annotated])

    with pytest.raises(ValidationError, match="a large one"):
        services.entity_delete(entity=size)


def ordering_flow(assistant: Assistant, **graph: object):
    """A flow "Main": a global trigger on ``order``, a capture of ``size`` that routes on
    ``cancel``, and a condition on the intent the user's last message had."""
    return services.flow_create(
        assistant=assistant,
        name="Main",
        graph={
            "start": "hi",
            "triggers": [{"intent": "order", "next": "ask_size"}],
            "steps": [
                {"id": "hi", "type": "message", "text": "Hello", "next": "ask_size"},
                {
                    "id": "ask_size",
                    "type": "capture",
                    "entity": "size",
                    "variable": "size",
                    "prompt": "Which size?",
                    "intents": [{"intent": "cancel", "next": "bye"}],
                    "next": "check",
                },
                {
                    "id": "check",
                    "type": "condition",
                    "branches": [
                        {"variable": "intent", "op": "eq", "value": "smalltalk", "next": "bye"}
                    ],
                    "else": "bye",
                },
                {"id": "bye", "type": "end", "text": "Bye"},
            ],
            **graph,
        },
    )


@pytest.fixture
def ordering(assistant, size):
    for name in ("order", "cancel", "smalltalk", "greet"):
        services.intent_create(assistant=assistant, name=name)
    ordering_flow(assistant)
    return assistant


def test_an_entity_captured_by_a_flow_step_cannot_be_deleted(ordering, size):
    with pytest.raises(ValidationError, match="flow Main, step ask_size captures it"):
        services.entity_delete(entity=size)

    assert ordering.entities.filter(name="size").exists()


def test_an_entity_required_by_an_intent_cannot_be_deleted(assistant, size):
    services.intent_create(
        assistant=assistant,
        name="order",
        required_entities=[{"entity": "size", "prompt": "Which size?"}],
    )

    with pytest.raises(ValidationError, match="intent order requires it"):
        services.entity_delete(entity=size)

    assert assistant.entities.filter(name="size").exists()


def test_an_unused_entity_is_deleted(ordering):
    colour = services.entity_create(assistant=ordering, name="colour", values=[{"value": "red"}])

    services.entity_delete(entity=colour)

    assert not ordering.entities.filter(name="colour").exists()


def test_entity_uses_names_every_place_that_uses_it(ordering, size):
    from builder.services.usages import entity_uses

    order = ordering.intents.get(name="order")
    services.intent_update(
        intent=order, required_entities=[{"entity": "size", "prompt": "Which size?"}]
    )
    annotated = {"text": "a large one", "entities": [{"start": 2, "end": 7, "entity": "size"}]}
    services.utterances_add(intent=order, utterances=[annotated, {**annotated, "text": "a large"}])

    assert [str(use) for use in entity_uses(size)] == [
        "intent order requires it",
        "intent order has 2 utterances annotated with it (e.g. “a large one”)",
        "flow Main, step ask_size captures it",
    ]


@pytest.mark.parametrize(
    ("intent", "place"),
    [
        ("order", "flow Main, global trigger to step ask_size routes on it"),
        ("cancel", "flow Main, step ask_size routes on it"),
        ("smalltalk", "flow Main, step check tests it"),
    ],
)
def test_an_intent_a_flow_uses_cannot_be_deleted(ordering, intent, place):
    with pytest.raises(ValidationError, match=place):
        services.intent_delete(intent=ordering.intents.get(name=intent))

    assert ordering.intents.filter(name=intent).exists()


def test_an_intent_no_flow_uses_is_deleted(ordering):
    services.intent_delete(intent=ordering.intents.get(name="greet"))

    assert not ordering.intents.filter(name="greet").exists()


@pytest.mark.parametrize("name", ["order pizza", "oos", "", "naïve!"])
def test_intent_names_are_identifiers(assistant, name):
    with pytest.raises(ValidationError):
        services.intent_create(assistant=assistant, name=name)


def test_switching_to_accurate_mode_retrains_the_draft_on_a_fine_tuned_encoder(
    assistant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("order_pizza", "track_order", "opening_hours"):
            services.intent_create(assistant=assistant, name=name, utterances=UTTERANCES[name])
    fast = registry().published_model(assistant.pk, "draft")

    with django_capture_on_commit_callbacks(execute=True):
        services.assistant_update(assistant=assistant, nlu_mode="accurate")

    run = TrainingRun.objects.filter(assistant=assistant).latest("pk")
    assert (run.status, run.progress) == (TrainingStatus.DONE, 1.0), run.error
    accurate = registry().published_model(assistant.pk, "draft")
    assert (fast.manifest["mode"], accurate.manifest["mode"]) == ("fast", "accurate")
    assert "+tuned-" in accurate.encoder.identity
    assert accurate.parse("a large pizza please").intent == "order_pizza"
    with pytest.raises(ValidationError, match="training mode"):
        services.assistant_update(assistant=assistant, nlu_mode="thorough")

    # A small edit afterwards re-fits the heads on the tuned encoder instead of tuning again.
    with django_capture_on_commit_callbacks(execute=True):
        services.utterances_add(
            intent=assistant.intents.get(name="order_pizza"),
            utterances=["do you have gluten free bases"],
        )
    edited = registry().published_model(assistant.pk, "draft")
    assert edited.manifest["trained_at"] != accurate.manifest["trained_at"]
    assert edited.encoder.identity == accurate.encoder.identity
    assert edited.manifest["tuning"]["changed"] == 1


@pytest.mark.parametrize(("in_process", "expected"), [(True, 1), (False, None)])
def test_fine_tuning_inside_the_chat_server_leaves_it_a_core(settings, in_process, expected):
    settings.TASKS_IN_PROCESS = in_process
    assert nlu_data.finetune_threads() == expected  # this machine has two
