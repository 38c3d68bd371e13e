"""The language tools as creators meet them: clarity and conflicts stored after each training,
the one-click fixes, suggested utterances and entity values, and cold-start synthesis."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from benchmarks.fake_provider import reply, truncated
from builder import services
from builder.services.analysis import latest_analysis
from builder.services.fixes import intents_merge, utterance_move
from builder.services.suggestions import (
    entity_values_suggest,
    intent_synthesise,
    utterances_suggest,
)
from core.models import Assistant, Intent, TrainingRun, TrainingStatus, Utterance
from gateway.errors import GatewayError
from gateway.models import Attempt, Purpose
from nlu.store import registry
from tests.nlu.conftest import UTTERANCES


def suggestions(*texts: str) -> str:
    return json.dumps({"utterances": list(texts)})


@pytest.fixture
def pizza(assistant: Assistant, django_capture_on_commit_callbacks) -> Assistant:
    """The pizza shop's intents, with one of track_order's utterances filed under greet."""
    with django_capture_on_commit_callbacks(execute=True):
        for name, texts in UTTERANCES.items():
            services.intent_create(assistant=assistant, name=name, utterances=texts)
        services.utterances_add(
            intent=assistant.intents.get(name="greet"), utterances=["where is my pizza order"]
        )
    return assistant


@pytest.fixture
def on_loopback(pizza: Assistant, primary) -> Assistant:
    pizza.llm_model = primary
    pizza.save(update_fields=["llm_model"])
    return pizza


def test_each_training_stores_clarity_and_conflicts_of_the_data_it_saw(pizza: Assistant) -> None:
    run = TrainingRun.objects.filter(assistant=pizza).first()
    assert run is not None
    assert run.status == TrainingStatus.DONE

    analysis, current = latest_analysis(pizza)

    assert current
    assert analysis is not None
    assert analysis == run.analysis
    assert set(analysis["intents"]) == set(UTTERANCES)
    misplaced = {
        c["utterances"][0]["text"]: c for c in analysis["conflicts"] if c["kind"] == "misplaced"
    }
    assert misplaced["where is my pizza order"]["suggested_intent"] == "track_order"


def test_an_edit_makes_the_analysis_stale_until_the_next_training(
    pizza: Assistant, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the training has not run yet
        services.utterances_add(intent=pizza.intents.get(name="greet"), utterances=["yo"])

    analysis, current = latest_analysis(pizza)
    assert analysis is not None
    assert not current


def test_moving_an_utterance_fixes_the_conflict_after_retraining(
    pizza: Assistant, django_capture_on_commit_callbacks
) -> None:
    stray = Utterance.objects.get(intent__assistant=pizza, text="where is my pizza order")
    track = pizza.intents.get(name="track_order")

    with django_capture_on_commit_callbacks(execute=True):
        utterance_move(utterance=stray, intent=track)

    stray.refresh_from_db()
    assert stray.intent == track
    analysis, current = latest_analysis(pizza)
    assert current
    assert analysis is not None
    assert not [
        c
        for c in analysis["conflicts"]
        if any(row["text"] == "where is my pizza order" for row in c["utterances"])
    ]


def test_moving_onto_an_intent_that_has_the_text_removes_the_stray_copy(pizza: Assistant) -> None:
    track = pizza.intents.get(name="track_order")
    copy = services.utterances_add(
        intent=pizza.intents.get(name="greet"), utterances=["Where is my order"]
    )[0]

    utterance_move(utterance=copy, intent=track)

    assert not Utterance.objects.filter(pk=copy.pk).exists()
    assert track.utterances.filter(text__iexact="where is my order").count() == 1


def test_moves_and_merges_stay_inside_one_assistant(
    pizza: Assistant, other_assistant: Assistant
) -> None:
    foreign = services.intent_create(assistant=other_assistant, name="greet", utterances=["hey"])
    utterance = pizza.intents.get(name="greet").utterances.all()[0]

    with pytest.raises(ValidationError):
        utterance_move(utterance=utterance, intent=foreign)
    with pytest.raises(ValidationError):
        intents_merge(source=pizza.intents.get(name="greet"), into=foreign)
    with pytest.raises(ValidationError, match="another intent"):
        intents_merge(source=foreign, into=foreign)


def test_merging_moves_utterances_reroutes_flows_and_deletes_the_intent(
    pizza: Assistant,
) -> None:
    greet, hours = pizza.intents.get(name="greet"), pizza.intents.get(name="opening_hours")
    services.intent_update(intent=greet, description="Says hello.")
    services.utterances_add(intent=greet, utterances=["when are you open"])  # hours has it
    flow = services.flow_create(
        assistant=pizza,
        name="Merge check",
        graph={
            "start": "hi",
            "triggers": [
                {"intent": "greet", "next": "hi"},
                {"intent": "opening_hours", "next": "hours"},
            ],
            "steps": [
                {
                    "id": "hi",
                    "type": "message",
                    "text": "Hi!",
                    "intents": [{"intent": "greet", "next": "hours"}],
                },
                {"id": "hours", "type": "end", "text": "9 to 5."},
            ],
        },
    )
    hours_before = hours.utterances.count()
    greet_texts = set(greet.utterances.values_list("text", flat=True))

    intents_merge(source=greet, into=hours)

    assert not Intent.objects.filter(pk=greet.pk).exists()
    texts = set(hours.utterances.values_list("text", flat=True))
    assert greet_texts - {"when are you open"} <= texts
    assert hours.utterances.count() == hours_before + len(greet_texts) - 1
    hours.refresh_from_db()
    assert "Says hello." in hours.description
    flow.refresh_from_db()
    assert flow.graph["triggers"] == [{"intent": "opening_hours", "next": "hi"}]
    assert flow.graph["steps"][0]["intents"] == [{"intent": "opening_hours", "next": "hours"}]


# --- suggestions -------------------------------------------------------------------------------


def test_suggestions_drop_existing_utterances_and_flag_the_ones_of_other_intents(
    on_loopback: Assistant, fake
) -> None:
    order = on_loopback.intents.get(name="order_pizza")
    fake.script(
        "primary",
        reply(
            suggestions(
                "I want to order a pizza",  # an exact copy of order_pizza's
                "Where is my order",  # an exact copy of track_order's, other case
                "could you send a spicy salami pizza to my flat",
                "could you send a spicy salami pizza to my flat",  # twice in one answer
                "what time do you close tonight",  # sounds like opening_hours
                "   ",
            ),
            usage=(300, 60),
        ),
    )

    result = utterances_suggest(intent=order, count=6)

    texts = [row["text"] for row in result["suggestions"]]
    assert texts == [
        "could you send a spicy salami pizza to my flat",
        "what time do you close tonight",
    ]
    assert result["suggestions"][0]["conflict"] is None
    flagged = result["suggestions"][1]["conflict"]
    assert flagged["intent"] == "opening_hours"
    assert flagged["similar"] in UTTERANCES["opening_hours"]
    assert result["dropped"] == 3
    # The prompt names the intent, shows its examples and the other intents to avoid.
    prompt = "\n".join(m["content"] for m in fake.requests[-1]["messages"])
    assert "order_pizza" in prompt
    assert "I want to order a pizza" in prompt
    assert "track_order" in prompt
    assert "English" in prompt
    attempt = Attempt.objects.get()
    assert (attempt.purpose, attempt.assistant_id) == (Purpose.SYNTHESIS, on_loopback.pk)


def test_output_that_breaks_the_schema_is_reasked_and_never_reaches_the_creator(
    on_loopback: Assistant, fake
) -> None:
    order = on_loopback.intents.get(name="order_pizza")
    fake.script(
        "primary",
        reply('{"utterances": "a pizza please"}'),  # a string, not a list
        reply(suggestions("a calzone to go, please")),
    )

    result = utterances_suggest(intent=order, count=3)

    assert [row["text"] for row in result["suggestions"]] == ["a calzone to go, please"]
    assert len(fake.requests) == 2


def test_garbage_from_every_model_is_a_gateway_error(on_loopback: Assistant, fake) -> None:
    order = on_loopback.intents.get(name="order_pizza")
    fake.script("primary", *[reply("Sure! Here are some ideas:")] * 3)
    fake.script("backup", *[reply("no")] * 3)

    with pytest.raises(GatewayError):
        utterances_suggest(intent=order, count=3)
    assert order.utterances.count() == len(UTTERANCES["order_pizza"])  # nothing was touched


def test_entity_suggestions_bring_new_values_and_missing_synonyms_only(
    on_loopback: Assistant, fake
) -> None:
    size = services.entity_create(
        assistant=on_loopback,
        name="size",
        values=[{"value": "large", "synonyms": ["big"]}, {"value": "small"}],
    )
    fake.script(
        "primary",
        reply(
            json.dumps(
                {
                    "values": [
                        {"value": "Large", "synonyms": ["big", "XL", "huge"]},
                        {"value": "medium", "synonyms": ["regular", "med"]},
                        {"value": "big", "synonyms": []},  # already a synonym of large
                        {"value": "family", "synonyms": ["XL"]},  # XL was just taken
                    ]
                }
            )
        ),
    )

    result = entity_values_suggest(entity=size, count=5)

    assert result["values"] == [
        {"value": "medium", "synonyms": ["regular", "med"]},
        {"value": "family", "synonyms": []},
    ]
    assert result["synonyms"] == [{"value": "large", "synonyms": ["XL", "huge"]}]


# What a model writes for the size entity before the token limit cuts it off: two values in
# full, the third stops half-way.
CUT_OFF_VALUES = (
    '{"values": [{"value": "medium", "synonyms": ["regular", "med"]}, '
    '{"value": "family", "synonyms": ["party size"]}, {"value": "extra lar'
)


@pytest.fixture
def size(on_loopback: Assistant):
    return services.entity_create(
        assistant=on_loopback,
        name="size",
        values=[{"value": "large", "synonyms": ["big"]}, {"value": "small"}],
    )


def test_entity_suggestions_ask_for_a_bounded_answer(size, fake) -> None:
    fake.script("primary", reply(json.dumps({"values": [{"value": "medium", "synonyms": []}]})))

    entity_values_suggest(entity=size, count=5)

    request = fake.requests[-1]
    schema = request["response_format"]["json_schema"]["schema"]
    values = schema["properties"]["values"]
    assert values["maxItems"] == 5
    item = schema["$defs"]["SuggestedValue"]
    assert item["properties"]["synonyms"]["maxItems"] <= 5
    # Room for every value asked for, and no more.
    assert request["max_tokens"] < 900


def test_a_cut_off_entity_answer_keeps_the_values_written_in_full(size, fake) -> None:
    fake.script("primary", truncated(CUT_OFF_VALUES))

    result = entity_values_suggest(entity=size, count=5)

    assert result["values"] == [
        {"value": "medium", "synonyms": ["regular", "med"]},
        {"value": "family", "synonyms": ["party size"]},
    ]
    assert "cut off" in result["note"]
    assert len(fake.requests) == 1  # not asked again: what came is used


def test_a_partly_malformed_entity_answer_keeps_the_good_values_without_asking_again(
    size, fake
) -> None:
    fake.script(
        "primary",
        reply(
            '{"values": [{"value": "medium", "synonyms": ["med"]}, {"synonyms": ["no value"]}, '
            '"family", {"value": "family", "synonyms": ["party",]},]}'
        ),
    )

    result = entity_values_suggest(entity=size, count=5)

    assert result["values"] == [
        {"value": "medium", "synonyms": ["med"]},
        {"value": "family", "synonyms": ["party"]},
    ]
    assert "2" in result["note"]  # the two items that could not be read
    assert len(fake.requests) == 1


def test_an_entity_answer_with_nothing_readable_is_a_clear_refusal(size, fake) -> None:
    fake.script("primary", truncated('{"values": [{"value": "med'))

    with pytest.raises(ValidationError, match="no values"):
        entity_values_suggest(entity=size, count=5)


def test_api_entity_suggestions_return_the_complete_values_of_a_cut_off_answer(
    size, api_for, owner, fake
) -> None:
    url = reverse("api:entity-suggestions", args=[size.pk])
    fake.script("primary", truncated(CUT_OFF_VALUES))

    answer = api_for(owner).post(url, {"count": 5})

    assert answer.status_code == 200
    assert [row["value"] for row in answer.json()["values"]] == ["medium", "family"]
    assert "cut off" in answer.json()["note"]

    fake.script("primary", truncated('{"values": [{"val'))
    refused = api_for(owner).post(url, {"count": 5})
    assert refused.status_code == 400
    assert "no values" in " ".join(refused.json()["detail"])


def test_cold_start_adds_the_unflagged_synthetic_utterances_and_trains(
    on_loopback: Assistant, fake, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.intent_create(
            assistant=on_loopback, name="refund", description="The customer wants money back."
        )
    fake.script(
        "primary",
        reply(
            suggestions(
                "I want my money back",
                "can I get a refund for my pizza",
                "refund me please, the pizza was cold",
                "when are you open",  # opening_hours' own
                "what time do you close on sundays",  # sits with opening_hours
            )
        ),
    )

    with django_capture_on_commit_callbacks(execute=True):
        added = intent_synthesise(intent=refund, count=5)

    assert added == [
        "I want my money back",
        "can I get a refund for my pizza",
        "refund me please, the pizza was cold",
    ]
    assert set(refund.utterances.values_list("text", flat=True)) == set(added)
    draft = registry().published_model(on_loopback.pk, "draft")
    assert draft.parse("give me my money back").intent == "refund"


def test_suggestions_work_with_the_bundled_local_model(pizza: Assistant) -> None:
    """No catalogue model: the gateway's embedded local model answers, through the same schema."""
    order = pizza.intents.get(name="order_pizza")

    result = utterances_suggest(intent=order, count=3)

    existing = {text.lower() for text in Utterance.objects.values_list("text", flat=True)}
    for row in result["suggestions"]:
        assert isinstance(row["text"], str)
        assert row["text"].strip()
        assert row["text"].lower() not in existing
    attempt = Attempt.objects.filter(purpose=Purpose.SYNTHESIS).get()
    assert attempt.provider == "local"


# --- API and pages -------------------------------------------------------------------------


def test_the_api_serves_the_analysis_to_members_only(
    pizza: Assistant, api_for, viewer, outsider
) -> None:
    url = reverse("api:assistant-analysis", args=[pizza.pk])

    answer = api_for(viewer).get(url)
    assert answer.status_code == 200
    assert answer.json()["current"] is True
    assert answer.json()["analysis"]["intents"]["greet"]["clarity"] >= 0
    assert api_for(outsider).get(url).status_code == 404


def test_api_fixes_refuse_viewers_and_other_workspaces(
    pizza: Assistant, api_for, owner, viewer, outsider, other_assistant
) -> None:
    stray = Utterance.objects.get(intent__assistant=pizza, text="where is my pizza order")
    track = pizza.intents.get(name="track_order")
    foreign = services.intent_create(assistant=other_assistant, name="greet", utterances=["hey"])
    move = reverse("api:utterance-move", args=[stray.pk])

    assert api_for(viewer).post(move, {"intent": track.pk}).status_code == 403
    assert api_for(outsider).post(move, {"intent": track.pk}).status_code == 404
    assert api_for(owner).post(move, {"intent": foreign.pk}).status_code == 404
    stray.refresh_from_db()
    assert stray.intent.name == "greet"

    answer = api_for(owner).post(move, {"intent": track.pk})
    assert answer.status_code == 200
    assert answer.json()["intent_name"] == "track_order"

    merge = reverse("api:intent-merge", args=[pizza.intents.get(name="greet").pk])
    assert api_for(owner).post(merge, {"into": foreign.pk}).status_code == 404
    assert api_for(owner).post(merge, {}).status_code == 400
    answer = api_for(owner).post(merge, {"into": track.pk})
    assert answer.status_code == 200
    assert answer.json()["name"] == "track_order"


def test_api_suggestions_report_a_failing_llm_as_502_and_bad_counts_as_400(
    on_loopback: Assistant, api_for, owner, fake
) -> None:
    url = reverse("api:intent-suggestions", args=[on_loopback.intents.get(name="greet").pk])
    fake.script("primary", *[reply("not json")] * 3)
    fake.script("backup", *[reply("not json")] * 3)

    assert api_for(owner).post(url, {"count": 0}).status_code == 400
    failed = api_for(owner).post(url, {"count": 3})
    assert failed.status_code == 502
    assert failed.json()["error"]
    assert failed.json()["detail"]


def test_intents_page_shows_clarity_and_fixes_a_conflict_in_one_click(
    pizza: Assistant, client_for, owner
) -> None:
    client = client_for(owner)
    page = client.get(reverse("intent-list", args=[pizza.pk])).content.decode()
    assert 'data-testid="assistant-clarity"' in page
    assert "where is my pizza order" in page
    stray = Utterance.objects.get(intent__assistant=pizza, text="where is my pizza order")
    track = pizza.intents.get(name="track_order")

    answer = client.post(
        reverse("intent-fix", args=[pizza.pk]),
        {
            "action": "move",
            "utterance": stray.pk,
            "intent": track.pk,
            "next": "https://evil.example/",
        },
        follow=True,
    )

    assert answer.redirect_chain[-1][0] == reverse("intent-list", args=[pizza.pk])
    assert "moved to track_order" in answer.content.decode()
    stray.refresh_from_db()
    assert stray.intent == track


def test_viewers_cannot_apply_fixes(pizza: Assistant, client_for, viewer) -> None:
    stray = Utterance.objects.get(intent__assistant=pizza, text="where is my pizza order")

    answer = client_for(viewer).post(
        reverse("intent-fix", args=[pizza.pk]), {"action": "delete", "utterance": stray.pk}
    )

    assert answer.status_code in (403, 404)
    assert Utterance.objects.filter(pk=stray.pk).exists()
