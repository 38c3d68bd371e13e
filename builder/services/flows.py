"""Flows: saved only when their graph passes every check (see ``runtime.flow_graph``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from builder.services.workspaces import clean_name
from core.models import Assistant, Flow
from runtime.flow_graph import Catalogue, check


def flow_catalogue(assistant: Assistant) -> Catalogue:
    return Catalogue(
        intents=frozenset(assistant.intents.values_list("name", flat=True)),
        entities=frozenset(assistant.entities.values_list("name", flat=True)),
        prompts=frozenset(assistant.prompts.values_list("pk", flat=True)),
    )


def _checked(assistant: Assistant, graph: Any) -> dict[str, Any]:
    problems = check(graph, flow_catalogue(assistant))
    if problems:
        # One message per problem, each naming its step, for pages and the API alike.
        raise ValidationError(
            {
                "graph": [
                    _describe(problem.step, problem.field, problem.message) for problem in problems
                ]
            }
        )
    return dict(graph)


def _describe(step: str | None, field: str, message: str) -> str:
    where = f"step {step!r}, {field}" if step else field
    return f"{where}: {message}"


@transaction.atomic
def flow_create(*, assistant: Assistant, name: str, graph: Any) -> Flow:
    """Save a new flow; a graph with problems is refused whole, each problem on its step."""
    name = clean_name(name)
    if assistant.flows.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"This assistant already has a flow named {name!r}."})
    return Flow.objects.create(assistant=assistant, name=name, graph=_checked(assistant, graph))


@transaction.atomic
def flow_update(*, flow: Flow, name: str | None = None, graph: Any = None) -> Flow:
    """Rename a flow or replace its graph; nothing changes unless all of it is valid."""
    if name is not None:
        name = clean_name(name)
        if flow.assistant.flows.exclude(pk=flow.pk).filter(name__iexact=name).exists():
            raise ValidationError({"name": f"This assistant already has a flow named {name!r}."})
        flow.name = name
    if graph is not None:
        flow.graph = _checked(flow.assistant, graph)
    flow.save(update_fields=["name", "graph", "updated_at"])
    return flow
