"""The checks a flow passes before it is saved: each problem named on its step."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime.flow_graph import Catalogue, check

CATALOGUE = Catalogue(
    intents=frozenset({"order_pizza", "opening_hours"}),
    entities=frozenset({"size"}),
    prompts=frozenset({7}),
)

PIZZA: dict[str, Any] = {
    "start": "greet",
    "triggers": [{"intent": "order_pizza", "next": "ask_size"}],
    "steps": [
        {"id": "greet", "type": "message", "text": "Welcome to Pizza Palace!",
         "intents": [{"intent": "opening_hours", "next": "hours"}], "no_match": "greet"},
        {"id": "hours", "type": "message", "text": "We open at nine.", "next": "greet"},
        {"id": "ask_size", "type": "capture", "entity": "size", "variable": "size",
         "prompt": "Which size?", "next": "check"},
        {"id": "check", "type": "condition",
         "branches": [{"variable": "size", "op": "eq", "value": "large", "next": "big"}],
         "else": "confirm"},
        {"id": "big", "type": "set", "variable": "note", "value": "a big one", "next": "confirm"},
        {"id": "confirm", "type": "message", "text": "A {{size}} pizza coming up.", "next": "bye"},
        {"id": "bye", "type": "end", "text": "Thanks!"},
    ],
}  # fmt: skip


def problems_of(graph: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(problem.step, problem.field) for problem in check(graph, CATALOGUE)]


def changed(**steps: dict[str, Any]) -> dict[str, Any]:
    graph = copy.deepcopy(PIZZA)
    for step in graph["steps"]:
        step.update(steps.get(step["id"], {}))
    return graph


def test_a_well_formed_flow_has_no_problems():
    assert check(PIZZA, CATALOGUE) == []


def test_a_dangling_connection_is_reported_on_the_step_that_has_it():
    assert problems_of(changed(big={"next": "nowhere"})) == [("big", "next")]


def test_an_unreachable_step_is_reported():
    graph = copy.deepcopy(PIZZA)
    graph["steps"].append({"id": "orphan", "type": "message", "text": "Hello?", "next": "bye"})

    assert problems_of(graph) == [("orphan", "id")]


def test_an_unknown_variable_is_reported_where_it_is_used():
    assert problems_of(changed(confirm={"text": "A {{colour}} pizza."})) == [("confirm", "text")]


def test_a_condition_on_a_variable_nothing_sets_is_reported():
    graph = changed(check={"branches": [{"variable": "crust", "op": "eq", "value": "thin",
                                          "next": "big"}]})  # fmt: skip
    assert problems_of(graph) == [("check", "branches[0].variable")]


def test_a_loop_that_never_waits_for_the_user_and_never_leaves_is_reported():
    graph = changed(confirm={"next": "big"}, big={"next": "confirm"})

    found = check(graph, CATALOGUE)

    loops = [problem for problem in found if problem.field == "next"]
    assert [(problem.step, problem.message) for problem in loops] == [
        ("big", "These steps loop forever without waiting for the user: big, confirm")
    ]
    assert ("bye", "id") in [(problem.step, problem.field) for problem in found]  # now unreachable


def test_a_loop_with_a_way_out_is_allowed():
    graph = changed(confirm={"next": "check"})  # check -> big -> confirm -> check, else -> confirm
    graph["steps"][3]["else"] = "bye"
    assert check(graph, CATALOGUE) == []


def test_a_loop_through_a_step_that_waits_for_the_user_is_allowed():
    assert check(changed(hours={"next": "greet"}), CATALOGUE) == []


@pytest.mark.parametrize(
    ("step", "change", "field"),
    [
        ("ask_size", {"entity": "colour"}, "entity"),
        ("greet", {"intents": [{"intent": "unknown", "next": "hours"}]}, "intents[0].intent"),
        ("check", {"else": None}, "else"),
        ("big", {"type": "teleport"}, "type"),
    ],
)
def test_unknown_references_and_missing_exits_are_named(step, change, field):
    assert (step, field) in problems_of(changed(**{step: change}))


def test_a_generate_step_must_use_one_of_the_assistants_prompts():
    graph = changed(big={"type": "generate", "prompt": 99, "variable": "note"})
    assert problems_of(graph) == [("big", "prompt")]


def test_an_api_call_needs_an_address_a_sane_timeout_and_a_failure_path():
    graph = changed(big={"type": "api_call", "url": "ftp://x", "timeout_s": 90})

    assert set(problems_of(graph)) == {("big", "url"), ("big", "timeout_s"), ("big", "on_error")}


@pytest.mark.parametrize(
    "graph",
    [None, [], {"steps": []}, {"start": "a", "steps": [{"id": "a b", "type": "end"}]}],
)
def test_malformed_graphs_get_a_message_not_a_crash(graph):
    assert check(graph, CATALOGUE)


def test_duplicate_step_ids_are_reported():
    graph = copy.deepcopy(PIZZA)
    graph["steps"].append({"id": "bye", "type": "end"})

    assert problems_of(graph) == [("bye", "id")]
