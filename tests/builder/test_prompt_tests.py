"""Prompt tests as creators write and run them: checks in plain lines, repetitions that expose
stochastic failures as a pass rate, several models side by side."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from benchmarks.fake_provider import refusal, reply
from builder import services
from core.models import Assistant, Prompt
from gateway.ledger import CallScope
from quality.models import PromptTestRun, SuiteRunStatus
from quality.services.prompt_checks import check_lines, check_output

pytestmark = pytest.mark.django_db

REFUND_CHECKS = [{"kind": "contains", "value": "refund"}, {"kind": "max length", "value": "80"}]


@pytest.fixture
def apology(assistant: Assistant, primary) -> Prompt:
    return services.prompt_create(
        assistant=assistant,
        name="apology",
        system="You are the support desk of a pizza shop.",
        template="Apologise to {{ name }} for the late pizza and offer what the policy allows.",
        model=primary,
    )


def test_checks_are_written_one_per_line_and_bad_lines_are_named():
    checks = check_lines(
        "contains: refund\nnot contains: Sorry\n\nregex: ^\\d+\njson\nmax length: 80\n"
        "judge: politely declines"
    )

    assert [c["kind"] for c in checks] == [
        "contains", "not contains", "regex", "json", "max length", "judge"
    ]  # fmt: skip
    assert checks[4]["value"] == 80
    with pytest.raises(ValidationError) as refused:
        check_lines("contains: refund\nsmells: nice\nregex: (unclosed\nmax length: lots")
    assert refused.value.message_dict["checks"] == [
        "line 2: A check is one of: contains, not contains, regex, json, min length, max length, "
        "judge.",
        "line 3: The pattern does not compile: missing ), unterminated subpattern at position 0.",
        "line 4: “max length” needs a whole number of characters.",
    ]


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"kind": "min length", "value": "\u00b2"}, "needs a whole number"),  # "²" is a digit
        ({"kind": "max length", "value": "9" * 30}, "needs a whole number"),
        ({"kind": "json", "value": "[" * 5000 + "]" * 5000}, "The JSON schema is not valid"),
    ],
)
def test_checks_that_only_look_like_numbers_or_schemas_are_refused(check, message):
    from quality.services.prompt_checks import check_clean

    with pytest.raises(ValidationError, match=message):
        check_clean(check)


@pytest.mark.parametrize(
    ("check", "output", "failure"),
    [
        ({"kind": "contains", "value": "Refund"}, "We will refund you.", None),
        ({"kind": "contains", "value": "refund"}, "Sorry!", "does not contain “refund”"),
        ({"kind": "not contains", "value": "sorry"}, "Sorry!", "contains “sorry”"),
        ({"kind": "regex", "value": r"^\d+ pizzas?$"}, "2 pizzas", None),
        ({"kind": "min length", "value": 10}, "short", "5 characters, under 10"),
        ({"kind": "json", "value": ""}, "{'a': 1}", "is not JSON"),
        (
            {"kind": "json", "value": '{"type": "object", "required": ["size"]}'},
            '{"topping": "ham"}',
            "does not fit the schema: 'size' is a required property",
        ),
    ],
)
def test_each_kind_of_check_says_why_an_output_fails(check, output, failure):
    assert check_output(check, output, scope=CallScope("test")) == failure


def test_the_judge_applies_a_rubric_through_the_gateway(primary, fake, assistant):
    assistant.llm_model = primary
    assistant.save(update_fields=["llm_model"])
    scope = CallScope("test", workspace_id=assistant.workspace_id, assistant_id=assistant.pk)
    fake.script("primary", reply('{"passed": false, "reason": "It blames the customer."}'))

    failure = check_output({"kind": "judge", "value": "apologises"}, "Your fault.", scope=scope)

    assert failure == "judge: It blames the customer."
    assert "Rubric: apologises" in fake.requests[-1]["messages"][-1]["content"]


def test_five_repetitions_that_fail_twice_report_a_60_percent_pass_rate_with_the_failures(
    apology, api_for, client_for, editor, fake, django_capture_on_commit_callbacks
):
    client = api_for(editor)
    created = client.post(
        f"/api/prompts/{apology.pk}/test-cases/",
        {"name": "late pizza", "values": {"name": "Ada"}, "checks": REFUND_CHECKS},
        format="json",
    )
    assert created.status_code == 201, created.json()
    good = "Sorry Ada, we will refund your pizza."
    fake.script(
        "primary",
        reply(good, usage=(40, 10)),
        reply("Sorry Ada, here is a voucher.", usage=(40, 10)),
        reply(good, usage=(40, 10)),
        reply("We refund late pizzas. " * 5, usage=(40, 10)),  # too long
        reply(good, usage=(40, 10)),
    )
    version = apology.versions.get()

    with django_capture_on_commit_callbacks(execute=True):  # the run is a background job
        started = client.post(
            f"/api/prompt-versions/{version.pk}/test-runs/",
            {"models": ["loopback:primary"], "repetitions": 5},
            format="json",
        )

    assert started.status_code == 202, started.json()
    run = client.get(f"/api/prompt-test-runs/{started.json()['id']}/").json()
    assert run["status"] == SuiteRunStatus.DONE, run["error"]
    (model,) = run["report"]["models"]
    assert (model["model"], model["runs"], model["passed"], model["pass_rate"]) == (
        "loopback:primary", 5, 3, 0.6
    )  # fmt: skip
    assert model["tokens"] == 250
    assert Decimal(model["cost"]) == 5 * (40 * Decimal(2) + 10 * Decimal(8)) / 1_000_000
    (case,) = model["cases"]
    assert [(f["run"], f["reasons"]) for f in case["failures"]] == [
        (2, ["does not contain “refund”"]),
        (4, ["115 characters, over 80"]),
    ]
    assert case["failures"][0]["output"] == "Sorry Ada, here is a voucher."
    page = client_for(editor).get(f"/prompt-test-runs/{run['id']}/").content.decode()
    assert "60 %" in page
    assert "Sorry Ada, here is a voucher." in page
    assert "Run 4: 115 characters, over 80" in page


def test_several_models_are_compared_on_the_same_cases(
    apology, backup, fake, django_capture_on_commit_callbacks
):
    services_case(apology)
    fake.script("primary", *[reply("We refund it.")] * 2)
    fake.script("backup", reply("We refund it."), reply("No."))
    from quality.services.prompt_tests import prompt_tests_request

    with django_capture_on_commit_callbacks(execute=True):
        run = prompt_tests_request(
            version=apology.versions.get(),
            model_keys=["loopback:primary", "loopback:backup"],
            repetitions=2,
        )

    run.refresh_from_db()
    assert run.report is not None
    rates = {row["model"]: row["pass_rate"] for row in run.report["models"]}
    assert rates == {"loopback:primary": 1.0, "loopback:backup": 0.5}


def services_case(prompt: Prompt) -> None:
    from quality.services.prompt_tests import prompt_test_case_create

    prompt_test_case_create(
        prompt=prompt, name="late pizza", values={"name": "Ada"}, checks=REFUND_CHECKS
    )


def test_creators_add_cases_and_run_them_from_the_prompt_page(
    apology, client_for, editor, viewer, fake, django_capture_on_commit_callbacks
):
    client = client_for(editor)
    page = f"/prompts/{apology.pk}/tests/"

    refused = client.post(
        page, {"action": "add", "name": "bad", "values": "name = Ada", "checks": "smells: x"}
    )
    assert refused.status_code == 302
    assert not apology.test_cases.exists()
    client.post(
        page,
        {
            "action": "add",
            "name": "late pizza",
            "values": "name = Ada",
            "checks": "contains: refund",
        },
    )
    case = apology.test_cases.get()
    assert (case.values, case.checks) == (
        {"name": "Ada"},
        [{"kind": "contains", "value": "refund"}],
    )
    detail = client.get(f"/prompts/{apology.pk}/").content.decode()
    assert "contains: refund" in detail
    fake.script("primary", *[reply("A refund is on its way.")] * 3)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"action": "run", "repetitions": 3})
    response = client.get(response["Location"])

    run = PromptTestRun.objects.get()
    assert response.request["PATH_INFO"] == f"/prompt-test-runs/{run.pk}/"
    assert "100 %" in response.content.decode()
    assert client_for(viewer).post(page, {"action": "run", "repetitions": 1}).status_code == 403
    assert PromptTestRun.objects.count() == 1


def test_prompt_tests_of_another_workspace_are_not_found(apology, api_for, outsider, viewer):
    services_case(apology)
    case = apology.test_cases.get()

    assert api_for(outsider).get(f"/api/prompts/{apology.pk}/test-cases/").status_code == 404
    assert api_for(outsider).delete(f"/api/prompt-test-cases/{case.pk}/").status_code == 404
    assert api_for(viewer).delete(f"/api/prompt-test-cases/{case.pk}/").status_code == 403
    version = apology.versions.get()
    started = api_for(outsider).post(
        f"/api/prompt-versions/{version.pk}/test-runs/", {"repetitions": 1}, format="json"
    )
    assert started.status_code == 404
    assert (
        json.loads(api_for(viewer).get(f"/api/prompts/{apology.pk}/test-cases/").content)[0]["name"]
        == "late pizza"
    )


def test_a_new_version_runs_the_suite_and_says_what_it_fixes_and_breaks(
    apology, client_for, editor, fake, django_capture_on_commit_callbacks
):
    from quality.services.prompt_tests import prompt_test_case_create, prompt_tests_request

    for name, word in (("refund case", "refund"), ("voucher case", "voucher")):
        prompt_test_case_create(
            prompt=apology,
            name=name,
            values={"name": "Ada"},
            checks=[{"kind": "contains", "value": word}],
        )
    fake.script("primary", *[reply("We refund it.")] * 2)
    with django_capture_on_commit_callbacks(execute=True):
        prompt_tests_request(
            version=apology.versions.get(), model_keys=["loopback:primary"], repetitions=1
        )
    fake.script("primary", *[reply("Here is a voucher.")] * 2)

    with django_capture_on_commit_callbacks(execute=True):
        services.prompt_version_create(
            prompt=apology, template="Offer {{ name }} a voucher for the late pizza."
        )

    run = PromptTestRun.objects.filter(version__number=2).get()
    assert run.model_keys == ["loopback:primary"]  # as the last run was set up
    assert run.report is not None
    versus = run.report["versus"]
    assert versus["version"] == 1
    assert [(r["case"], r["before"], r["after"]) for r in versus["fixed"]] == [
        ("voucher case", 0.0, 1.0)
    ]
    assert [(r["case"], r["before"], r["after"]) for r in versus["broke"]] == [
        ("refund case", 1.0, 0.0)
    ]
    page = client_for(editor).get(f"/prompt-test-runs/{run.pk}/").content.decode()
    assert "Against v1" in page
    assert "Fixed: voucher case on loopback:primary (0 % → 100 %)" in page
    assert "Broke: refund case on loopback:primary (100 % → 0 %)" in page


def test_a_failed_production_call_becomes_a_test_case_in_one_click(
    apology, api_for, client_for, editor, fake
):
    from gateway.calls import complete, prompt_call

    version = apology.versions.get()
    assistant = apology.assistant
    fake.script("primary", refusal("I can't help with that."), reply("Fine, a refund."))
    for name in ("Ada", "Bob"):
        complete(
            **prompt_call(
                version,
                {"name": name},
                purpose="generate",
                workspace_id=assistant.workspace_id,
                assistant_id=assistant.pk,
            )
        )
    client = client_for(editor)
    page = client.get(f"/prompts/{apology.pk}/").content.decode()
    assert "Make a test case" in page
    (backtest,) = api_for(editor).get(f"/api/prompts/{apology.pk}/backtests/").json()
    assert (backtest["problem"], backtest["inputs"], backtest["replayed"]) == (
        "refused", {"name": "Ada"}, False
    )  # fmt: skip

    response = client.post(
        f"/prompts/{apology.pk}/tests/",
        {"action": "backtest", "call": backtest["call"]},
        follow=True,
    )

    case = apology.test_cases.get()
    assert case.values == {"name": "Ada"}
    assert case.checks == [
        {"kind": "judge", "value": "Answers the request instead of refusing it."}
    ]
    assert str(case.source_call_id) == backtest["call"]
    assert f"Test case “{case.name}” added." in response.content.decode()
    again = api_for(editor).get(f"/api/prompts/{apology.pk}/backtests/").json()
    assert again[0]["replayed"] is True


def test_a_new_version_still_saves_when_a_tested_model_left_the_catalogue(
    apology, backup, fake, django_capture_on_commit_callbacks
):
    from quality.services.prompt_tests import prompt_test_case_create, prompt_tests_request

    prompt_test_case_create(
        prompt=apology, name="late pizza", values={"name": "Ada"}, checks=REFUND_CHECKS
    )
    fake.script("backup", reply("We refund it."))
    with django_capture_on_commit_callbacks(execute=True):
        prompt_tests_request(version=apology.versions.get(), model_keys=["loopback:backup"])
    from gateway.models import LlmModel

    LlmModel.objects.filter(fallback=backup).update(fallback=None)
    backup.delete()
    fake.script("primary", reply("We refund it."))

    with django_capture_on_commit_callbacks(execute=True):
        version = services.prompt_version_create(prompt=apology, template="Sorry, {{ name }}.")

    run = PromptTestRun.objects.get(version=version)
    assert run.model_keys == []  # the version's own model instead
    assert run.status == SuiteRunStatus.DONE


def test_a_run_whose_model_left_the_catalogue_fails_with_the_reason(apology, backup):
    from gateway.models import LlmModel
    from quality.services.prompt_tests import prompt_test_run_execute, prompt_tests_request

    services_case(apology)
    run = prompt_tests_request(version=apology.versions.get(), model_keys=["loopback:backup"])
    LlmModel.objects.filter(fallback=backup).update(fallback=None)
    backup.delete()  # after the run was queued, before it started

    run = prompt_test_run_execute(run.pk)

    assert run.status == SuiteRunStatus.FAILED
    assert run.error == "No longer in the catalogue: loopback:backup."
