"""Conversation tests: scripts of user turns played against the draft, with what a creator
expects at each turn; saved from real conversations; run from the page, the API and
``run_tests``; and required before publishing when the assistant says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from builder import services
from builder.demo import demo_content_seed
from builder.services.versions import SuiteFailed
from core.models import Assistant, ConversationTest
from quality.models import ConversationTestRun
from quality.services.conversation_tests import (
    conversation_test_create,
    conversation_test_from_conversation,
    conversation_tests_now,
    turns_clean,
)

pytestmark = pytest.mark.django_db(transaction=True)

WELCOME = "Welcome to Pizza Palace! What can I do for you?"
ORDER = [
    {"user": "", "expect": [{"kind": "reply", "value": WELCOME}]},
    {
        "user": "I'd like to order food",
        "expect": [
            {"kind": "intent", "value": "order_pizza"},
            {"kind": "step", "value": "ask_size"},
            {"kind": "reply_contains", "value": "which size"},
        ],
    },
    {"user": "medium", "expect": [{"kind": "variable", "name": "size", "value": "medium"}]},
    {
        "user": "veggie",
        "expect": [
            {"kind": "reply", "value": "One medium veggie pizza, coming up! Anything else?"}
        ],
    },
]


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    """The demo's intents, entities and flow, with a trained draft."""
    with transaction.atomic():
        demo_content_seed(assistant)
    return assistant


def report_of(run: ConversationTestRun) -> dict:
    assert run.report is not None, run.error
    return run.report


def wrong_reply(turns: list[dict]) -> list[dict]:
    """The order script expecting a pepperoni where the user asked for a veggie."""
    edited = json.loads(json.dumps(turns))
    edited[-1]["expect"] = [
        {"kind": "reply", "value": "One medium pepperoni pizza, coming up! Anything else?"}
    ]
    return edited


def test_a_written_test_passes_and_a_wrong_expectation_fails_with_the_difference(pizza):
    conversation_test_create(assistant=pizza, name="Order a veggie", turns=ORDER)
    conversation_test_create(assistant=pizza, name="Order, misremembered", turns=wrong_reply(ORDER))

    run = conversation_tests_now(assistant=pizza)

    report = report_of(run)
    assert (report["total"], report["passed"], report["failed"]) == (2, 1, 1)
    passing, failing = sorted(report["tests"], key=lambda test: not test["passed"])
    assert passing["name"] == "Order a veggie"
    assert [turn["passed"] for turn in passing["turns"]] == [True, True, True, True]
    assert failing["name"] == "Order, misremembered"
    last = failing["turns"][-1]
    assert last["reply"] == "One medium veggie pizza, coming up! Anything else?"
    check = last["checks"][0]
    assert (check["passed"], check["reason"]) == (False, "the reply differs")
    assert ["-", "pepperoni"] in check["diff"]
    assert ["+", "veggie"] in check["diff"]
    assert failing["turns"][0]["passed"]  # the rest of the script still held


def test_every_kind_of_expectation_says_what_was_actually_there(pizza):
    turns = [
        {
            "user": "a large pepperoni pizza please",
            "expect": [
                {"kind": "intent", "value": "track_order"},
                {"kind": "entity", "name": "size", "value": "small"},
                {"kind": "entity", "name": "topping", "value": "pepperoni"},
                {"kind": "variable", "name": "topping", "value": "ham"},
                {"kind": "step", "value": "hours"},
                {"kind": "reply_regex", "value": r"^Two \w+"},
                {"kind": "no_match"},
            ],
        }
    ]
    conversation_test_create(assistant=pizza, name="Everything wrong", turns=turns)

    checks = report_of(conversation_tests_now(assistant=pizza))["tests"][0]["turns"][0]["checks"]

    outcome = {(c["kind"], c["name"]): (c["passed"], c["actual"]) for c in checks}
    assert outcome[("intent", "")][0] is False
    assert outcome[("intent", "")][1] == "order_pizza"
    assert outcome[("entity", "size")] == (False, "large")
    assert outcome[("entity", "topping")] == (True, "pepperoni")
    assert outcome[("variable", "topping")] == (False, "pepperoni")
    assert outcome[("step", "")] == (False, "confirm")
    assert outcome[("reply_regex", "")][0] is False
    assert outcome[("no_match", "")] == (False, "order_pizza")


def test_a_button_turn_clicks_the_button_with_that_label(pizza):
    turns = [
        {"user": "Track my order", "button": True, "expect": [{"kind": "step", "value": "track"}]},
        {
            "user": "Free pizza",
            "button": True,
            "expect": [{"kind": "reply_contains", "value": "x"}],
        },
    ]
    conversation_test_create(assistant=pizza, name="Buttons", turns=turns)

    clicked, missing = report_of(conversation_tests_now(assistant=pizza))["tests"][0]["turns"]

    assert clicked["passed"]
    assert "left the kitchen" in clicked["reply"]
    assert not missing["passed"]
    assert missing["problem"].startswith("no button “Free pizza” to click (offered: ")


def test_a_production_conversation_saved_as_a_test_replays_and_passes(pizza, api_for, editor):
    services.assistant_publish(assistant=pizza)
    client = api_for(editor)
    said = ["I'd like to order food", "medium", "veggie"]
    conversation = None
    for text in said:
        body = {"user": "shopper", "text": text}
        if conversation:
            body["conversation"] = conversation
        answer = client.post(f"/api/assistants/{pizza.pk}/interact/", body, format="json")
        assert answer.status_code == 200, answer.json()
        conversation = answer.json()["conversation"]

    test = conversation_test_from_conversation(assistant=pizza, conversation_id=conversation)

    assert [turn["user"] for turn in test.turns] == ["", *said]
    assert test.turns[0]["expect"] == [{"kind": "reply", "value": WELCOME}]
    assert {"kind": "intent", "value": "order_pizza"} in test.turns[1]["expect"]
    assert test.turns[3]["expect"][-1] == {
        "kind": "reply",
        "value": "One medium veggie pizza, coming up! Anything else?",
    }
    assert str(test.source_conversation_id) == conversation
    assert conversation_tests_now(assistant=pizza).passed
    again = conversation_test_from_conversation(assistant=pizza, conversation_id=conversation)
    assert again.name == f"{test.name} (2)"


def test_a_conversation_of_another_assistant_cannot_be_saved(pizza, other_assistant):
    from runtime.models import Channel, Conversation

    theirs = Conversation.objects.create(
        assistant=other_assistant, channel=Channel.WIDGET, end_user="x"
    )
    with pytest.raises(ValidationError, match="No such conversation"):
        conversation_test_from_conversation(assistant=pizza, conversation_id=theirs.pk)
    with pytest.raises(ValidationError, match="No such conversation"):
        conversation_test_from_conversation(assistant=pizza, conversation_id="not-a-uuid")


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ([], "at least one turn"),
        ([{"user": "hi", "expect": []}], "Expect something"),
        ([{"user": "hi", "expect": [{"kind": "dance"}]}], "turn 1, expectation 1: An expectation"),
        ([{"user": "hi", "expect": [{"kind": "entity", "value": "x"}]}], "needs the entity's"),
        ([{"user": "hi", "expect": [{"kind": "reply_regex", "value": "("}]}], "does not compile"),
        ([{"user": "hi", "expect": [{"kind": "intent"}]}], "needs a value"),
        ([{"user": "", "expect": []}, {"user": " ", "expect": []}], "turn 2: say what"),
        ("a string", "at least one turn"),
    ],
)
def test_a_malformed_test_is_refused_with_what_is_wrong(turns, message):
    with pytest.raises(ValidationError) as error:
        turns_clean(turns)
    assert message in " ".join(error.value.messages)


def test_run_tests_exits_non_zero_and_its_report_matches_the_page(
    pizza, client_for, viewer, tmp_path: Path
):
    conversation_test_create(assistant=pizza, name="Order a veggie", turns=ORDER, suite="orders")
    conversation_test_create(assistant=pizza, name="Misremembered", turns=wrong_reply(ORDER))
    output = tmp_path / "report.json"

    with pytest.raises(SystemExit) as exited:
        call_command("run_tests", assistant=pizza.pk, output=output)

    assert exited.value.code == 1
    report = json.loads(output.read_text())
    run = ConversationTestRun.objects.get(pk=report["run"])
    assert report == {"run": run.pk, "status": "done", **report_of(run)}
    page = client_for(viewer).get(f"/test-runs/{run.pk}/").content.decode()
    assert "1 passed, 1 failed" in page
    assert 'data-test="Misremembered" data-passed="false"' in page
    assert 'data-test="Order a veggie" data-passed="true"' in page

    call_command("run_tests", assistant=pizza.pk, suite="orders", output=output)  # exit 0
    assert json.loads(output.read_text())["passed"] == 1
    with pytest.raises(CommandError, match="No tests in the suite “nope”"):
        call_command("run_tests", assistant=pizza.pk, suite="nope", output=output)


def test_publishing_waits_for_passing_tests_when_the_assistant_requires_them(pizza):
    pizza.publish_requires_tests = True
    pizza.save()
    with pytest.raises(ValidationError, match="there are none"):
        services.assistant_publish(assistant=pizza)
    test = conversation_test_create(assistant=pizza, name="Order", turns=wrong_reply(ORDER))

    with pytest.raises(SuiteFailed) as stopped:
        services.assistant_publish(assistant=pizza)

    assert "1 of 1 conversation tests failed: Order." in stopped.value.messages
    assert report_of(stopped.value.run)["failed"] == 1  # the run is kept, to show what failed
    assert not pizza.versions.exists()
    test.turns = turns_clean(ORDER)
    test.save()
    assert services.assistant_publish(assistant=pizza).number == 1


def test_the_publish_button_shows_the_failing_run(pizza, client_for, editor):
    pizza.publish_requires_tests = True
    pizza.save()
    conversation_test_create(assistant=pizza, name="Order", turns=wrong_reply(ORDER))

    response = client_for(editor).post(f"/assistants/{pizza.pk}/publish/", {"notes": ""})

    run = ConversationTestRun.objects.get()
    assert response.status_code == 302
    assert response.url == f"/test-runs/{run.pk}/"
    assert not pizza.versions.exists()


def test_tests_over_the_api(pizza, api_for, editor, viewer, outsider):
    client = api_for(editor)
    url = f"/api/assistants/{pizza.pk}/conversation-tests/"

    created = client.post(url, {"name": "Order", "suite": "orders", "turns": ORDER}, format="json")
    bad = client.post(url, {"name": "Bad", "turns": [{"user": "hi", "expect": []}]}, format="json")
    run = client.post(f"/api/assistants/{pizza.pk}/conversation-test-runs/", {}, format="json")

    assert created.status_code == 201, created.json()
    assert bad.status_code == 400
    assert "Expect something" in json.dumps(bad.json())
    assert run.status_code == 202
    finished = client.get(f"/api/conversation-test-runs/{run.json()['id']}/").json()
    assert (finished["status"], finished["report"]["passed"]) == ("done", 1)
    test_url = f"/api/conversation-tests/{created.json()['id']}/"
    assert api_for(viewer).delete(test_url).status_code == 403
    assert api_for(outsider).get(test_url).status_code == 404
    assert api_for(outsider).get(url).status_code == 404
    changed = client.put(test_url, {"name": "Order 2", "turns": ORDER[:2]}, format="json")
    assert changed.status_code == 200
    assert ConversationTest.objects.get().name == "Order 2"


def test_the_editor_saves_turns_from_the_form_and_keeps_them_on_error(pizza, client_for, editor):
    client = client_for(editor)
    form = {
        "name": "Hours",
        "suite": "",
        "turn-0-user": "when are you open",
        "turn-0-expect-0-kind": "intent",
        "turn-0-expect-0-value": "opening_hours",
        "turn-0-expect-7-kind": "reply_contains",
        "turn-0-expect-7-value": "11:00",
        "turn-0-expect-9-kind": "",  # the blank row
        "turn-1-user": "",
    }

    saved = client.post(f"/assistants/{pizza.pk}/tests/new/", form)
    broken = client.post(
        f"/tests/{ConversationTest.objects.get().pk}/",
        {**form, "turn-0-expect-7-kind": "reply_regex", "turn-0-expect-7-value": "(("},
    )

    test = ConversationTest.objects.get()
    assert saved.status_code == 302
    assert test.suite == "default"
    assert test.turns == [
        {
            "user": "when are you open",
            "button": False,
            "expect": [
                {"kind": "intent", "value": "opening_hours"},
                {"kind": "reply_contains", "value": "11:00"},
            ],
        }
    ]
    assert broken.status_code == 400
    assert "does not compile" in broken.content.decode()
    assert 'value="((' in broken.content.decode()  # what was typed is still there
    assert ConversationTest.objects.get().turns == test.turns
