"""Usage and cost per assistant, model and day: the API and the page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from benchmarks.fake_provider import error, reply
from gateway.calls import CallScope, complete

pytestmark = pytest.mark.django_db


def ask(assistant, model, text: str) -> None:
    scope = CallScope("generate", workspace_id=assistant.workspace_id, assistant_id=assistant.pk)
    complete([{"role": "user", "content": text}], scope=scope, model=model, cache="off")


@pytest.fixture
def some_usage(fake, primary, unpriced, assistant, other_assistant):
    fake.script("primary", error(500), reply("x " * 10, usage=(100, 10)))
    ask(assistant, primary, "first question " * 30)  # one failed, one ok attempt
    fake.script("primary", reply("y " * 10, usage=(200, 10)))
    ask(assistant, primary, "second question " * 30)
    ask(assistant, unpriced, "third")
    ask(other_assistant, primary, "not yours")


def test_the_usage_api_sums_tokens_and_cost_per_assistant_model_and_day(
    some_usage, api_for, owner, workspace
):
    response = api_for(owner).get(f"/api/usage/?workspace={workspace.pk}")

    assert response.status_code == 200
    rows = {row["model"]: row for row in response.json()}
    assert set(rows) == {"loopback:primary", "loopback:unpriced"}
    priced = rows["loopback:primary"]
    assert (priced["attempts"], priced["failed"]) == (3, 1)
    assert (priced["input_tokens"], priced["output_tokens"]) == (300, 20)
    assert Decimal(priced["cost"]) == Decimal("0.00076")  # 300 × $2/M + 20 × $8/M
    assert priced["latency_p99_ms"] >= priced["latency_p50_ms"] > 0
    assert rows["loopback:unpriced"]["unknown_cost"] == 1


def test_usage_of_another_workspace_is_not_found(some_usage, api_for, outsider, workspace):
    assert api_for(outsider).get(f"/api/usage/?workspace={workspace.pk}").status_code == 404


def test_a_bad_usage_query_is_explained(api_for, owner, workspace):
    response = api_for(owner).get(f"/api/usage/?workspace={workspace.pk}&days=0")

    assert response.status_code == 400
    assert "days" in response.json()


def test_the_usage_page_shows_each_model_and_an_unknown_price_as_unknown(
    some_usage, client_for, viewer, workspace
):
    page = client_for(viewer).get(f"/workspaces/{workspace.pk}/usage/").content.decode()

    assert "loopback:primary" in page
    assert "$0.0008" in page
    assert "unknown" in page
    assert "not yours" not in page


def test_only_staff_change_the_model_catalogue(api_for, owner, primary):
    client = api_for(owner)
    url = f"/api/llm-models/{primary.pk}/"

    assert client.get(url).json()["input_price"] == "2.000000"
    assert client.patch(url, {"input_price": "0"}, format="json").status_code == 403
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    assert api_for(owner).patch(url, {"input_price": None}, format="json").status_code == 200
    primary.refresh_from_db()
    assert primary.input_price is None


def test_usage_is_split_by_purpose_and_charted_per_day(
    some_usage, api_for, client_for, owner, workspace
):
    rows = api_for(owner).get(f"/api/usage/?workspace={workspace.pk}").json()
    assert {row["purpose"] for row in rows} == {"generate"}

    page = client_for(owner).get(f"/workspaces/{workspace.pk}/usage/").content.decode()
    assert 'aria-label="LLM cost per day"' in page
    assert "<td>generate</td>" in page
