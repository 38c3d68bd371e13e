"""Evaluating an assistant's NLU from the pages and the API: k-fold, held out, a test set."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from builder.demo import demo_content_seed
from core.models import Assistant
from quality.models import EvaluationRun, EvaluationStatus

pytestmark = pytest.mark.django_db(transaction=True)

TEST_SET = "\n".join(
    json.dumps(row)
    for row in [
        {"text": "I want a large margherita", "intent": "order_pizza"},
        {"text": "where is my pizza right now", "intent": "track_order"},
        {"text": "are you open on sunday evening", "intent": "opening_hours"},
        {"text": "what is the capital of peru", "intent": "oos"},
    ]
).encode()


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    with transaction.atomic():  # one training for all of it
        demo_content_seed(assistant)
    return assistant


def test_a_kfold_evaluation_reports_every_figure_on_its_page(pizza, client_for, editor):
    client = client_for(editor)

    response = client.post(
        f"/assistants/{pizza.pk}/evaluations/", {"kind": "kfold", "folds": 3}, follow=True
    )

    run = EvaluationRun.objects.get()
    assert run.status == EvaluationStatus.DONE, run.error
    report = run.report
    assert report is not None
    intents = set(pizza.intents.values_list("name", flat=True))
    assert set(report["per_intent"]) == intents
    assert report["utterances"] == sum(i.utterances.count() for i in pizza.intents.all())
    assert 0.5 < report["accuracy"] <= 1
    assert report["entities"]["per_type"]  # the demo annotates sizes and toppings
    assert run.nlu_mode == "fast"
    page = response.content.decode()
    assert "fast mode" in page
    assert 'aria-label="Confidence histogram"' in page
    assert 'aria-label="F1 per intent"' in page
    assert f"{report['accuracy']:.4f}" in page
    download = client.get(f"/evaluations/{run.pk}/report.json")
    assert download["Content-Disposition"] == f'attachment; filename="evaluation-{run.pk}.json"'
    assert json.loads(download.content)["report"] == report


def test_an_accurate_assistant_is_evaluated_on_fine_tuned_models(pizza, client_for, editor):
    # Set directly: switching modes through the service would fine-tune the draft as well.
    Assistant.objects.filter(pk=pizza.pk).update(nlu_mode="accurate")
    client = client_for(editor)
    assert "trains in accurate mode" in client.get(f"/assistants/{pizza.pk}/evaluations/").text

    response = client.post(
        f"/assistants/{pizza.pk}/evaluations/", {"kind": "kfold", "folds": 2}, follow=True
    )

    run = EvaluationRun.objects.get()
    assert run.status == EvaluationStatus.DONE, run.error
    assert run.nlu_mode == "accurate"  # as the fold models' manifests say
    assert run.report is not None
    assert 0.5 < run.report["accuracy"] <= 1
    assert "accurate mode" in response.text


def test_an_accurate_assistant_can_ask_for_a_quick_fast_mode_estimate(pizza, api_for, editor):
    Assistant.objects.filter(pk=pizza.pk).update(nlu_mode="accurate")
    api = api_for(editor)
    url = f"/api/assistants/{pizza.pk}/evaluations/"
    refused = api.post(url, {"kind": "kfold", "nlu_mode": "thorough"}, format="json")
    assert refused.status_code == 400
    assert "nlu_mode" in refused.json()

    created = api.post(url, {"kind": "kfold", "folds": 2, "nlu_mode": "fast"}, format="json")

    assert created.status_code == 202, created.json()
    run = api.get(f"/api/evaluations/{created.json()['id']}/").json()
    assert (run["status"], run["nlu_mode"]) == ("done", "fast")


def test_an_uploaded_test_set_is_run_through_the_draft_model(pizza, api_for, editor):
    # The draft was trained fast; switching the mode alone does not change what is tested.
    Assistant.objects.filter(pk=pizza.pk).update(nlu_mode="accurate")
    created = api_for(editor).post(
        f"/api/assistants/{pizza.pk}/evaluations/",
        {"kind": "test_set", "test_set": SimpleUploadedFile("check.jsonl", TEST_SET)},
        format="multipart",
    )

    assert created.status_code == 202, created.json()
    run = api_for(editor).get(f"/api/evaluations/{created.json()['id']}/").json()
    assert run["status"] == "done"
    assert run["test_name"] == "check.jsonl"
    assert run["model_version"]
    assert run["nlu_mode"] == "fast"
    assert run["report"]["utterances"] == 4
    assert run["report"]["out_of_scope"]["support"] == 1


def test_a_held_out_split_trains_a_separate_model(pizza, api_for, editor):
    created = (
        api_for(editor)
        .post(f"/api/assistants/{pizza.pk}/evaluations/", {"kind": "holdout"}, format="json")
        .json()
    )

    run = EvaluationRun.objects.get(pk=created["id"])
    assert run.status == EvaluationStatus.DONE, run.error
    total = sum(i.utterances.count() for i in pizza.intents.all())
    assert run.report is not None
    assert 0 < run.report["utterances"] < total / 2


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bad.jsonl", b'{"text": "hi", "intent": "greet"}\nnot json\n', "bad.jsonl, line 2"),
        ("rows.csv", b"text,intent\njust text\n", "rows.csv, line 2: expected text,intent"),
        ("notes.txt", b"hello", "Upload a .jsonl or .csv file."),
        ("empty.csv", b"text,intent\n", "The test set has no utterances."),
    ],
)
def test_a_bad_test_set_is_refused_with_the_reason(pizza, api_for, editor, name, data, message):
    response = api_for(editor).post(
        f"/api/assistants/{pizza.pk}/evaluations/",
        {"kind": "test_set", "test_set": SimpleUploadedFile(name, data)},
        format="multipart",
    )

    assert response.status_code == 400
    assert message in str(response.json())
    assert not EvaluationRun.objects.exists()


def test_an_assistant_with_one_intent_fails_with_a_clear_reason(assistant, api_for, editor):
    from builder import services

    services.intent_create(
        assistant=assistant, name="greet", utterances=[{"text": "hi"}, {"text": "hello"}]
    )

    created = (
        api_for(editor)
        .post(f"/api/assistants/{assistant.pk}/evaluations/", {"kind": "kfold"}, format="json")
        .json()
    )

    run = EvaluationRun.objects.get(pk=created["id"])
    assert run.status == EvaluationStatus.FAILED
    assert run.error == "An evaluation needs at least two intents with utterances."


def test_viewers_read_and_other_workspaces_see_nothing(
    pizza, api_for, client_for, editor, viewer, outsider
):
    created = (
        api_for(editor)
        .post(
            f"/api/assistants/{pizza.pk}/evaluations/", {"kind": "kfold", "folds": 2}, format="json"
        )
        .json()
    )

    assert api_for(viewer).get(f"/api/evaluations/{created['id']}/").status_code == 200
    refused = api_for(viewer).post(
        f"/api/assistants/{pizza.pk}/evaluations/", {"kind": "kfold"}, format="json"
    )
    assert refused.status_code == 403
    assert api_for(outsider).get(f"/api/evaluations/{created['id']}/").status_code == 404
    assert api_for(outsider).get(f"/api/assistants/{pizza.pk}/evaluations/").status_code == 404
    assert client_for(outsider).get(f"/evaluations/{created['id']}/").status_code == 404
    assert client_for(outsider).get(f"/evaluations/{created['id']}/report.json").status_code == 404


def test_a_retrain_is_compared_with_the_published_model_on_the_latest_test_set(
    pizza, api_for, client_for, editor
):
    from builder import services
    from core.models import Intent

    services.assistant_publish(assistant=pizza, notes="baseline")
    api_for(editor).post(
        f"/api/assistants/{pizza.pk}/evaluations/",
        {"kind": "test_set", "test_set": SimpleUploadedFile("check.jsonl", TEST_SET)},
        format="multipart",
    )

    flow = pizza.flows.get()
    graph = dict(flow.graph)
    graph["triggers"] = [t for t in graph["triggers"] if t["intent"] != "opening_hours"]
    with transaction.atomic():  # the retrain happens when this commits
        services.flow_update(flow=flow, graph=graph)  # a flow used it: deleting would be refused
        services.intent_delete(intent=Intent.objects.get(assistant=pizza, name="opening_hours"))

    run = pizza.training_runs.filter(status="done").first()
    assert run is not None
    diff = run.metrics["regression"]
    assert diff["test_set"] == "check.jsonl"
    assert diff["accuracy_after"] < diff["accuracy_before"]
    # What the deletion broke, first of all the utterance of the deleted intent. (On this tiny
    # assistant the borderline out-of-scope line can flip too: both are reported.)
    now_wrong = [row["text"] for row in diff["now_wrong"]]
    assert "are you open on sunday evening" in now_wrong
    assert not {"I want a large margherita", "where is my pizza right now"} & set(now_wrong)
    assert "opening_hours" in [row["intent"] for row in diff["worse_intents"]]
    page = client_for(editor).get(f"/assistants/{pizza.pk}/intents/").content.decode()
    assert "Draft vs published, on check.jsonl (4 utterances)" in page
    assert "“are you open on sunday evening”: opening_hours, now" in page


def test_an_error_is_fixed_from_the_report_in_one_click_and_the_retrain_shows_it(
    pizza, api_for, client_for, editor
):
    from builder import services

    services.assistant_publish(assistant=pizza, notes="baseline")
    hard = [  # utterances a model trained on the demo's examples tends to get wrong
        "fetch me the usual, a big one with everything on it",
        "the usual please",
        "surprise me with something cheesy",
        "dinner for four, you pick",
        "same as last friday",
    ]
    test_set = TEST_SET + b"".join(
        b"\n" + json.dumps({"text": text, "intent": "order_pizza"}).encode() for text in hard
    )
    api_for(editor).post(
        f"/api/assistants/{pizza.pk}/evaluations/",
        {"kind": "test_set", "test_set": SimpleUploadedFile("check.jsonl", test_set)},
        format="multipart",
    )
    run = EvaluationRun.objects.get()
    assert run.report is not None
    missed = next(e["text"] for e in run.report["errors"] if e["text"] in hard)
    client = client_for(editor)
    page = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert "Add to order_pizza" in page

    response = client.post(
        f"/assistants/{pizza.pk}/intents/fix/",
        {
            "action": "add",
            "text": missed,
            "intent": pizza.intents.get(name="order_pizza").pk,
            "next": f"/evaluations/{run.pk}/",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/evaluations/{run.pk}/"
    assert "Added to order_pizza" in response.content.decode()
    assert pizza.intents.get(name="order_pizza").utterances.filter(text=missed).exists()
    diff = pizza.training_runs.filter(status="done").first().metrics["regression"]
    assert {"text": missed, "expected": "order_pizza"} in [
        {"text": row["text"], "expected": row["expected"]} for row in diff["now_right"]
    ]
    intents_page = client.get(f"/assistants/{pizza.pk}/intents/").content.decode()
    assert f"“{missed}”: order_pizza, was" in intents_page


def test_a_kfold_error_can_be_moved_to_the_intent_the_model_chose(pizza, client_for, editor):
    from builder import services

    greet = pizza.intents.get(name="greet")
    services.utterances_add(intent=greet, utterances=["where is my pizza, it has been an hour"])
    client = client_for(editor)
    client.post(f"/assistants/{pizza.pk}/evaluations/", {"kind": "kfold", "folds": 3})
    run = EvaluationRun.objects.get()
    assert run.report is not None
    error = next(
        e for e in run.report["errors"] if e["text"] == "where is my pizza, it has been an hour"
    )
    page = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert f"Move to {error['predicted']}" in page
    utterance = greet.utterances.get(text="where is my pizza, it has been an hour")

    client.post(
        f"/assistants/{pizza.pk}/intents/fix/",
        {
            "action": "move",
            "utterance": utterance.pk,
            "intent": pizza.intents.get(name=error["predicted"]).pk,
        },
    )

    utterance.refresh_from_db()
    assert utterance.intent.name == error["predicted"] != "greet"
