"""The classifier comparison: the in-house NLU, an LLM and the hybrid on the same utterances, with
the LLM's tokens and cost counted exactly from a loopback provider."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum

from benchmarks.fake_provider import error, reply, slow
from builder.demo import demo_content_seed
from core.models import Assistant
from gateway.models import Attempt, Call
from nlu.data import Example
from quality.models import ComparisonItem, EvaluationKind, EvaluationRun, EvaluationStatus
from quality.services.comparison import compare, estimate
from quality.services.evaluations import evaluation_request, evaluation_stop

pytestmark = pytest.mark.django_db(transaction=True)

TEST = [
    Example("I want a large margherita", "order_pizza"),
    Example("where is my pizza right now", "track_order"),
    Example("are you open on sunday evening", "opening_hours"),
    Example("what is the capital of peru", "oos"),
]


@pytest.fixture
def pizza(assistant: Assistant, primary) -> Assistant:
    with transaction.atomic():
        demo_content_seed(assistant)
    assistant.llm_model = primary
    assistant.hybrid_low, assistant.hybrid_high = 0.0, 1.0  # every turn is "unsure"
    assistant.save()
    return assistant


def test_three_classifiers_side_by_side_with_exact_tokens_and_cost(pizza, fake):
    answers = ["order_pizza", "track_order", "opening_hours", "none"]
    # The LLM alone, then the hybrid, for each utterance in the (shuffled) order asked.
    fake.script("primary", *[reply(json.dumps({"intent": a}), usage=(100, 5)) for a in answers * 2])
    order: list[str] = []

    report = compare(pizza, TEST, few_shot=2, max_items=None, progress=lambda s, f: order.append(s))

    llm, hybrid, nlu = (report["classifiers"][name] for name in ("llm", "hybrid", "nlu"))
    assert report["items"] == 4
    assert llm["llm_calls"] == 4
    assert hybrid["llm_calls"] == 4
    assert (llm["input_tokens"], llm["output_tokens"]) == (400, 20)
    # primary costs $2.00 per million input tokens and $8.00 per million output tokens
    expected = (Decimal(400) * 2 + Decimal(20) * 8) / 1_000_000
    assert Decimal(llm["cost"]) == expected
    assert Decimal(llm["cost_per_1000_turns"]) == expected / 4 * 1000
    assert Call.objects.filter(purpose="classify").count() == 8
    assert nlu["llm_calls"] == 0
    assert nlu["cpu_seconds"] > 0
    assert Decimal(nlu["cost_per_1000_turns"]) > 0
    assert report["versus_nlu"]["llm"]["cost_ratio"] > 1
    for figures in (llm, hybrid, nlu):
        assert figures["latency_ms"]["p50"] > 0
        assert 0 <= figures["accuracy"] <= 1


def test_the_llm_is_told_every_intent_and_similar_examples(pizza, fake):
    fake.script("primary", reply('{"intent": "order_pizza"}'), reply('{"intent": "order_pizza"}'))

    compare(pizza, TEST[:1], few_shot=2, max_items=None)

    system = fake.requests[0]["messages"][0]["content"]
    for name, description in pizza.intents.values_list("name", "description"):
        assert f"- {name}: {description or name}" in system
    assert system.count("\nMessage: ") == 2
    assert "Intent: order_pizza" in system  # the nearest training utterances are orders


def test_an_llm_that_fails_counts_as_a_miss_and_the_hybrid_keeps_the_nlu(pizza, fake):
    fake.script("primary", *[error(500)] * 6)
    fake.script("backup", *[error(500)] * 6)

    report = compare(pizza, TEST[:1], few_shot=0, max_items=None)

    llm, hybrid, nlu = (report["classifiers"][name] for name in ("llm", "hybrid", "nlu"))
    assert llm["llm_errors"] == 1
    assert llm["accuracy"] == 0.0
    assert hybrid["llm_errors"] == 1
    assert hybrid["accuracy"] == nlu["accuracy"]


def test_at_most_max_items_go_to_the_llm_and_the_estimate_comes_first(pizza, fake):
    fake.script("primary", *[reply('{"intent": "none"}')] * 4)

    priced = estimate(pizza, 2, llm=None)
    report = compare(pizza, TEST, few_shot=0, max_items=2)

    assert priced["items"] == 2
    assert priced["model"] == "loopback:primary"
    assert Decimal(priced["cost"]) > 0
    assert report["items"] == 2
    assert len(fake.requests) == 4  # two for the LLM alone, two for the hybrid


def test_the_command_writes_the_same_figures(pizza, fake, tmp_path):
    fake.script("primary", *[reply('{"intent": "order_pizza"}', usage=(50, 3))] * 8)
    test = tmp_path / "test.jsonl"
    test.write_text("\n".join(json.dumps({"text": e.text, "intent": e.intent}) for e in TEST))
    output = tmp_path / "report.json"
    out = StringIO()

    call_command(
        "nlu_compare",
        "--assistant", str(pizza.pk), "--test", str(test), "--llm", "loopback:primary",
        "--output", str(output), stdout=out, stderr=StringIO(),
    )  # fmt: skip

    report = json.loads(output.read_text())
    assert report["classifiers"]["llm"]["input_tokens"] == 200
    printed = out.getvalue()
    assert "classifier" in printed
    assert "llm vs nlu" in printed
    llm_row = next(line for line in printed.splitlines() if line.startswith("llm "))
    assert report["classifiers"]["llm"]["cost_per_1000_turns"] in llm_row


def test_the_comparison_page_shows_the_three_classifiers_and_the_estimates(
    pizza, fake, client_for, editor
):
    fake.script("primary", *[reply('{"intent": "order_pizza"}', usage=(80, 4))] * 200)
    client = client_for(editor)

    listing = client.get(f"/assistants/{pizza.pk}/evaluations/").content.decode()
    response = client.post(
        f"/assistants/{pizza.pk}/evaluations/",
        {"kind": "compare", "llm_model": "loopback:primary", "max_items": 6, "few_shot": 1},
        follow=True,
    )

    assert "loopback:primary" in listing
    assert 'data-testid="estimates"' in listing
    page = response.content.decode()
    for name in ("nlu", "llm", "hybrid"):
        assert f'data-classifier="{name}"' in page
    assert 'aria-label="Accuracy against cost"' in page
    run = response.context["run"]
    assert run.report["items"] == 6  # held out from the assistant's own utterances
    assert run.report["classifiers"]["llm"]["input_tokens"] == 6 * 80


def test_a_stopped_comparison_resumes_without_asking_or_billing_finished_items_again(
    pizza, fake, client_for, editor
):
    answer = reply('{"intent": "order_pizza"}', usage=(100, 5))
    # Two calls per utterance (the LLM alone, the hybrid); the fifth, the third utterance's
    # first, is slow enough for the stop to land while that utterance is in flight.
    fake.script("primary", *[answer] * 4, slow(0.6, answer), *[answer] * 3)

    def stop_during_the_third() -> None:
        # The provider records a request on arrival: the fifth arriving means the third
        # utterance is in flight. (Waiting for two finished items raced the job on a busy
        # machine: the stop could land before the third utterance started.)
        deadline = time.monotonic() + 30
        while len(fake.requests) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        evaluation_stop(run=EvaluationRun.objects.get())

    stopper = threading.Thread(target=stop_during_the_third)
    stopper.start()
    # The job runs in-line once the request commits, while the other thread stops it.
    run = evaluation_request(assistant=pizza, kind=EvaluationKind.COMPARE, test_set=TEST)
    stopper.join(timeout=30)

    run.refresh_from_db()
    assert run.status == EvaluationStatus.STOPPED
    assert run.report is None
    assert run.stage == "stopped after 3 of 4 utterances"
    assert ComparisonItem.objects.filter(run=run).count() == 3
    assert len(fake.requests) == 6
    page = client_for(editor).get(f"/evaluations/{run.pk}/").content.decode()
    assert "3 utterances finished and kept." in page
    assert ">Resume</button>" in page

    response = client_for(editor).post(
        f"/evaluations/{run.pk}/control/", {"action": "resume"}, follow=True
    )

    assert "Resumed; finished utterances are not asked again." in response.content.decode()
    run.refresh_from_db()
    assert run.status == EvaluationStatus.DONE, run.error
    assert len(fake.requests) == 8  # only the last utterance was asked, once per classifier
    assert run.report is not None
    llm = run.report["classifiers"]["llm"]
    assert (llm["llm_calls"], llm["input_tokens"], llm["output_tokens"]) == (4, 400, 20)
    assert Decimal(llm["cost"]) == (Decimal(400) * 2 + Decimal(20) * 8) / 1_000_000
    # The ledger billed each call once: the report's cost is the ledger's, to the cent.
    billed = Attempt.objects.filter(purpose="classify").aggregate(total=Sum("cost"))["total"]
    assert Attempt.objects.filter(purpose="classify").count() == 8
    assert billed == 2 * Decimal(llm["cost"])  # the hybrid asked the same 4, priced the same
    assert report_without_timing(run.report) == report_without_timing(
        compare(pizza, TEST, few_shot=3, max_items=200, done=stored(run))
    )


def stored(run: EvaluationRun) -> dict[int, dict]:
    return {item.index: item.record for item in run.items.all()}


TIMING = ("latency_ms", "cpu_seconds", "cost", "cost_per_1000_turns")


def report_without_timing(report: dict) -> dict:
    return {
        name: {
            k: v
            for k, v in figures.items()
            if k not in ("latency_ms", "cpu_seconds", "cost", "cost_per_1000_turns")
        }
        for name, figures in report["classifiers"].items()
    }


def test_only_a_running_comparison_stops_and_only_editors_control_it(
    pizza, fake, api_for, editor, viewer, outsider
):
    fake.script("primary", *[reply('{"intent": "none"}')] * 8)
    run = evaluation_request(assistant=pizza, kind=EvaluationKind.COMPARE, test_set=TEST)
    run.refresh_from_db()
    assert run.status == EvaluationStatus.DONE
    url = f"/api/evaluations/{run.pk}/control/"

    assert api_for(outsider).post(url, {"action": "stop"}).status_code == 404
    assert api_for(viewer).post(url, {"action": "stop"}).status_code == 403
    refused = api_for(editor).post(url, {"action": "stop"})
    assert refused.status_code == 400
    assert "not running" in json.dumps(refused.json())
    assert api_for(editor).post(url, {"action": "resume"}).status_code == 400
    assert api_for(editor).post(url, {"action": "pause"}).status_code == 400
