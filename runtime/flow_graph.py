"""The flow graph a creator draws on the canvas, and the checks it passes before it is saved.

A graph is JSON::

    {"start": "greet",
     "variables": ["customer_name"],                 # set from outside (widget, API)
     "triggers": [{"intent": "order_pizza", "next": "ask_size"}],   # global intent triggers
     "steps": [{"id": "greet", "type": "message", "x": 40, "y": 60, "text": "Hi!", ...}, ...]}

Step types and their fields (every ``next``-like field names another step's id):

- ``message``: ``text`` ({{variable}} placeholders), ``buttons`` [{label, value?, next?}],
  ``next``. Without ``next`` it waits for the user, whose turn is routed by its ``intents``
  [{intent, next}], then the global triggers, then its ``no_match``.
- ``capture``: ``entity`` (or none for free text) into ``variable``; ``prompt``, ``reprompt``,
  ``max_attempts``; ``next``, ``on_fail``. Also routes ``intents`` like a waiting message.
- ``condition``: ``branches`` [{variable, op, value, next}] tried in order, then ``else``.
- ``set``: ``variable`` = ``value`` (a template), then ``next``.
- ``generate``: ``prompt`` (a prompt of the assistant, by id) with the conversation's variables,
  streamed to the user; ``variable`` keeps the text; ``next``; ``on_error`` (optional: where to
  go when nothing could be generated). A prompt with an output schema is not shown: the reply
  is a validated JSON object, ``variable`` keeps it as JSON text and ``response_map``
  {variable: "json.path"} picks its fields, as for an API call.
- ``kb_answer``: answers ``question`` (a template; default the user's last message) from the
  knowledge base, streamed with its sources; ``tags`` limits it to documents with one of them;
  ``variable`` keeps the answer; ``next``, ``no_answer`` (nothing relevant found).
- ``api_call``: ``method``, ``url``, ``headers``, ``body`` (templates), ``response_map``
  {variable: "json.path"}, ``timeout_s``; ``next``, ``on_error``.
- ``end``: optional ``text``; ``handoff`` to a person.

``check`` reports every problem on the step that has it: dangling connections, unknown intents,
entities, prompts and variables, unreachable steps, and loops that never wait for the user and
have no way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

STEP_TYPES = (
    "message",
    "capture",
    "condition",
    "set",
    "generate",
    "kb_answer",
    "api_call",
    "end",
)
CONDITION_OPS = ("eq", "ne", "gt", "lt", "contains", "is_set", "not_set")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Filled by the runtime on every turn.
SYSTEM_VARIABLES = ("last_utterance", "intent", "confidence", "user_id", "channel")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
STEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_STEPS = 500


@dataclass(frozen=True)
class Problem:
    step: str | None  # None: the graph as a whole
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Catalogue:
    """What a graph may refer to in its assistant."""

    intents: frozenset[str]
    entities: frozenset[str]
    prompts: frozenset[int]


def _links(step: dict[str, Any]) -> Iterator[tuple[str, object]]:
    """(field, target) for every connection leaving a step."""
    for field in ("next", "no_match", "on_fail", "on_error", "no_answer", "else"):
        if step.get(field) is not None:
            yield field, step[field]
    for list_field in ("buttons", "intents", "branches"):
        for index, item in enumerate(step.get(list_field) or []):
            if isinstance(item, dict) and item.get("next") is not None:
                yield f"{list_field}[{index}].next", item["next"]


def waits_for_user(step: dict[str, Any]) -> bool:
    """Whether the dialog stops at this step until the user says something."""
    kind = step.get("type")
    return kind in ("capture", "end") or (kind == "message" and step.get("next") is None)


def _templates(step: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for field in ("text", "prompt", "reprompt", "value", "url", "body", "question"):
        if isinstance(step.get(field), str):
            yield field, step[field]
    for name, value in (step.get("headers") or {}).items():
        if isinstance(value, str):
            yield f"headers.{name}", value


def _assigned(step: dict[str, Any]) -> Iterator[str]:
    if step.get("type") in ("capture", "set", "generate", "kb_answer") and step.get("variable"):
        yield str(step["variable"])
    if step.get("type") in ("api_call", "generate"):
        yield from (str(name) for name in (step.get("response_map") or {}))


def check(graph: object, catalogue: Catalogue) -> list[Problem]:
    """Every problem in the graph, each on the step that has it; empty when it can be saved."""
    if not isinstance(graph, dict):
        return [Problem(None, "graph", "The flow must be a JSON object.")]
    steps = graph.get("steps")
    if not isinstance(steps, list) or not steps:
        return [Problem(None, "steps", "A flow needs at least one step.")]
    if len(steps) > MAX_STEPS:
        return [Problem(None, "steps", f"A flow can have at most {MAX_STEPS} steps.")]
    problems: list[Problem] = []
    by_id: dict[str, dict[str, Any]] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            problems.append(Problem(None, f"steps[{index}]", "A step must be a JSON object."))
            continue
        step_id = step.get("id")
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            problems.append(
                Problem(
                    None, f"steps[{index}].id", "A step needs an id of letters, digits, - or _."
                )
            )
            continue
        if step_id in by_id:
            problems.append(Problem(step_id, "id", f"Two steps have the id {step_id!r}."))
            continue
        by_id[step_id] = step
    if problems:
        return problems

    variables = set(SYSTEM_VARIABLES) | {str(v) for v in graph.get("variables") or []}
    for step in by_id.values():
        variables.update(_assigned(step))

    start = graph.get("start")
    if start not in by_id:
        problems.append(Problem(None, "start", "The flow's start must be one of its steps."))
    for index, trigger in enumerate(graph.get("triggers") or []):
        if not isinstance(trigger, dict):
            problems.append(Problem(None, f"triggers[{index}]", "A trigger must be an object."))
            continue
        if trigger.get("intent") not in catalogue.intents:
            problems.append(
                Problem(
                    None, f"triggers[{index}].intent", f"Unknown intent {trigger.get('intent')!r}."
                )
            )
        if trigger.get("next") not in by_id:
            problems.append(
                Problem(None, f"triggers[{index}].next", "The trigger leads to no step.")
            )
    for step_id, step in by_id.items():
        problems.extend(_check_step(step_id, step, by_id, variables, catalogue))
    problems.extend(_check_reachable(graph, by_id))
    problems.extend(_check_loops(by_id))
    return problems


def _check_step(
    step_id: str,
    step: dict[str, Any],
    by_id: dict[str, dict[str, Any]],
    variables: set[str],
    catalogue: Catalogue,
) -> Iterator[Problem]:
    kind = step.get("type")
    if kind not in STEP_TYPES:
        yield Problem(step_id, "type", f"Unknown step type {kind!r}.")
        return
    for field, target in _links(step):
        if target not in by_id:
            yield Problem(step_id, field, f"Connects to a step that does not exist ({target!r}).")
    for field, text in _templates(step):
        for name in PLACEHOLDER.findall(text):
            if name not in variables:
                yield Problem(step_id, field, f"Uses the variable {name!r}, which nothing sets.")
    for index, item in enumerate(step.get("intents") or []):
        if not isinstance(item, dict) or item.get("intent") not in catalogue.intents:
            yield Problem(step_id, f"intents[{index}].intent", "Unknown intent.")
    if kind == "message" and not (step.get("text") or step.get("buttons")):
        yield Problem(step_id, "text", "A message needs text or buttons.")
    elif kind == "capture":
        if not step.get("variable"):
            yield Problem(step_id, "variable", "Say which variable the answer goes into.")
        entity = step.get("entity")
        if entity and entity not in catalogue.entities:
            yield Problem(step_id, "entity", f"Unknown entity {entity!r}.")
        if step.get("next") is None:
            yield Problem(step_id, "next", "Say where to go once the answer is captured.")
    elif kind == "condition":
        yield from _check_condition(step_id, step, variables)
    elif kind == "set" and not step.get("variable"):
        yield Problem(step_id, "variable", "Say which variable to set.")
    elif kind == "generate" and step.get("prompt") not in catalogue.prompts:
        yield Problem(step_id, "prompt", "Choose one of the assistant's prompts.")
    elif kind == "api_call":
        yield from _check_api_call(step_id, step)
    if kind in ("set", "generate", "kb_answer", "api_call") and step.get("next") is None:
        yield Problem(step_id, "next", "Say where to go next.")


def _check_condition(step_id: str, step: dict[str, Any], variables: set[str]) -> Iterator[Problem]:
    branches = step.get("branches") or []
    if not branches:
        yield Problem(step_id, "branches", "A condition needs at least one branch.")
    for index, branch in enumerate(branches):
        if not isinstance(branch, dict):
            yield Problem(step_id, f"branches[{index}]", "A branch must be an object.")
            continue
        if branch.get("variable") not in variables:
            yield Problem(
                step_id,
                f"branches[{index}].variable",
                f"Tests the variable {branch.get('variable')!r}, which nothing sets.",
            )
        if branch.get("op") not in CONDITION_OPS:
            yield Problem(step_id, f"branches[{index}].op", "Unknown comparison.")
        if branch.get("next") is None:
            yield Problem(step_id, f"branches[{index}].next", "Say where this branch goes.")
    if step.get("else") is None:
        yield Problem(step_id, "else", "Say where to go when no branch matches.")


def _check_api_call(step_id: str, step: dict[str, Any]) -> Iterator[Problem]:
    if str(step.get("method", "GET")).upper() not in HTTP_METHODS:
        yield Problem(step_id, "method", f"Use one of {', '.join(HTTP_METHODS)}.")
    url = step.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "{{")):
        yield Problem(step_id, "url", "Give an http:// or https:// address.")
    timeout = step.get("timeout_s", 5)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 30:
        yield Problem(step_id, "timeout_s", "Use a timeout from 0 to 30 seconds.")
    if step.get("on_error") is None:
        yield Problem(step_id, "on_error", "Say where to go when the call fails.")


def _check_reachable(graph: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> Iterator[Problem]:
    entries = [graph.get("start")] + [
        trigger.get("next") for trigger in graph.get("triggers") or [] if isinstance(trigger, dict)
    ]
    seen: set[str] = set()
    stack = [entry for entry in entries if entry in by_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(t for _, t in _links(by_id[current]) if t in by_id and t not in seen)
    for step_id in by_id:
        if step_id not in seen:
            yield Problem(step_id, "id", "No path leads to this step.")


def _check_loops(by_id: dict[str, dict[str, Any]]) -> Iterator[Problem]:
    """Cycles of steps that never wait for the user and have no link out of the cycle."""
    automatic = {
        step_id: [str(t) for _, t in _links(step) if t in by_id]
        for step_id, step in by_id.items()
        if not waits_for_user(step)
    }
    for component in _cycles(automatic):
        leaves = any(
            target not in component for step_id in component for target in automatic[step_id]
        )
        if not leaves:
            first = sorted(component)[0]
            yield Problem(
                first,
                "next",
                "These steps loop forever without waiting for the user: "
                + ", ".join(sorted(component)),
            )


def _cycles(graph: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue  # a waiting step ends the automatic run
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(component)
    return found
