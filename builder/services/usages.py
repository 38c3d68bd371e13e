"""Where an entity or an intent is used, in one place: the entities page lists it, the pre-train
checks look for entities nothing uses and intents no flow routes on, and deleting either is
refused while anything uses it (a flow would point at nothing, an intent would ask for an entity
that is gone).

An entity is used by an intent that requires it, by the utterances annotated with it, and by a
flow's capture step. An intent is used by a flow's global trigger, by a step that routes on it
(``intents``), and by a condition step that tests the ``intent`` variable against its name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from core.models import Assistant, Entity, Intent, Utterance


@dataclass(frozen=True)
class Use:
    """One place that uses an entity or intent: ``where`` names it (an intent, or a flow's
    step or trigger), ``how`` says what it does with it; ``str`` reads as a sentence."""

    kind: str  # required, annotation, capture; trigger, route, condition
    where: str
    how: str

    def __str__(self) -> str:
        return f"{self.where} {self.how}"


def entity_uses(entity: Entity) -> list[Use]:
    """Every place that uses ``entity`` (empty: nothing does, it can go)."""
    return entity_uses_by_name(entity.assistant).get(entity.name, [])


def entity_uses_by_name(assistant: Assistant) -> dict[str, list[Use]]:
    """Where each entity name is used in the assistant, intent by intent (requirements, then
    annotations), then flow by flow; a name nothing uses is absent. Annotated names the
    assistant has no entity for are included."""
    uses: dict[str, list[Use]] = defaultdict(list)
    annotated = _annotations(assistant)
    for name, required in assistant.intents.order_by("name").values_list(
        "name", "required_entities"
    ):
        for entity in dict.fromkeys(str(item.get("entity")) for item in required or []):
            uses[entity].append(Use("required", f"intent {name}", "requires it"))
        for entity, texts in annotated.get(name, {}).items():
            count = f"{len(texts)} utterance{'s' if len(texts) != 1 else ''}"
            uses[entity].append(
                Use(
                    "annotation",
                    f"intent {name}",
                    f"has {count} annotated with it (e.g. “{texts[0]}”)",
                )
            )
    for flow_name, step in _steps(assistant):
        if step.get("type") == "capture" and step.get("entity"):
            uses[str(step["entity"])].append(
                Use("capture", f"flow {flow_name}, step {step.get('id')}", "captures it")
            )
    return dict(uses)


def intent_uses(intent: Intent) -> list[Use]:
    """Every place in the assistant's flows that uses ``intent`` (empty: none does)."""
    return intent_uses_by_name(intent.assistant).get(intent.name, [])


def intent_uses_by_name(assistant: Assistant) -> dict[str, list[Use]]:
    """Where each intent name is used in the assistant's flows, flow by flow: global triggers,
    then steps in order (their routes, then conditions on ``intent``); a name nothing uses is
    absent."""
    uses: dict[str, list[Use]] = defaultdict(list)
    for flow in assistant.flows.order_by("id"):
        graph = flow.graph if isinstance(flow.graph, dict) else {}
        for trigger in _objects(graph.get("triggers")):
            if trigger.get("intent"):
                where = f"flow {flow.name}, global trigger to step {trigger.get('next')}"
                uses[str(trigger["intent"])].append(Use("trigger", where, "routes on it"))
        for step in _objects(graph.get("steps")):
            where = f"flow {flow.name}, step {step.get('id')}"
            for name in dict.fromkeys(_routed(step)):
                uses[name].append(Use("route", where, "routes on it"))
            for name in dict.fromkeys(_tested(step)):
                uses[name].append(Use("condition", where, "tests it"))
    return dict(uses)


def uses_sentence(what: str, uses: Iterable[Use]) -> str:
    """A refusal that names every place: “The entity “size” is in use: …; … Remove …”."""
    return f"{what} is in use: {'; '.join(str(use) for use in uses)}. Remove these uses first."


def _annotations(assistant: Assistant) -> dict[str, dict[str, list[str]]]:
    """intent name -> entity name -> the texts annotated with it, in order."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = Utterance.objects.filter(intent__assistant=assistant).order_by("id")
    for intent, text, spans in rows.values_list("intent__name", "text", "entities"):
        for entity in dict.fromkeys(str(span.get("entity")) for span in spans or []):
            found[intent][entity].append(text)
    return found


def _steps(assistant: Assistant) -> Iterator[tuple[str, dict[str, Any]]]:
    for flow in assistant.flows.order_by("id"):
        graph = flow.graph if isinstance(flow.graph, dict) else {}
        for step in _objects(graph.get("steps")):
            yield flow.name, step


def _objects(items: Any) -> Iterator[dict[str, Any]]:
    """The objects of a list in a graph (a graph is checked before it is saved, but old rows
    and imports may hold anything)."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield item


def _routed(step: dict[str, Any]) -> Iterator[str]:
    for route in _objects(step.get("intents")):
        if route.get("intent"):
            yield str(route["intent"])


def _tested(step: dict[str, Any]) -> Iterator[str]:
    if step.get("type") != "condition":
        return
    for branch in _objects(step.get("branches")):
        if branch.get("variable") == "intent" and isinstance(branch.get("value"), str):
            yield branch["value"].strip()
