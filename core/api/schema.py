"""The OpenAPI schema: drf-spectacular's, with the API's error answers on every operation.

Errors have one shape (see ``core.api.errors``): ``{"detail": "..."}``, or for invalid input the
messages keyed by field. Every operation that needs a signed-in caller can answer 403, every one
that changes something or reads a query 400, every one that looks up what a path or query names
404, and every rate-limited one 429. Views document the other answers they give (409, the
gateway's 402/422/429/502) with ``extend_schema``."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import SAFE_METHODS, AllowAny

ERROR = ResolvedComponent(
    name="Error",
    type=ResolvedComponent.SCHEMA,
    object="Error",
    schema={
        "type": "object",
        "properties": {"detail": {"type": "string", "description": "What went wrong."}},
        "required": ["detail"],
    },
)
VALIDATION_ERROR = ResolvedComponent(
    name="ValidationError",
    type=ResolvedComponent.SCHEMA,
    object="ValidationError",
    schema={
        "type": "object",
        "description": "Messages keyed by field: a list of messages, or the same shape again for "
        "a nested object (a list of them for a list of objects). ``non_field_errors`` is about "
        "the input as a whole; ``detail`` is a message (or list of them) when the body could "
        "not be read or a rule across fields failed.",
        "additionalProperties": {},
    },
)
GATEWAY_ERROR = ResolvedComponent(
    name="GatewayError",
    type=ResolvedComponent.SCHEMA,
    object="GatewayError",
    schema={
        "type": "object",
        "properties": {
            "error": {
                "type": "string",
                "description": "prompt_invalid, injection, rate_limited, budget_exceeded, "
                "provider_failed, truncated, refused, invalid_output, …",
            },
            "detail": {"type": "string"},
            "request_id": {"type": "string", "nullable": True},
        },
        "required": ["error", "detail", "request_id"],
    },
)

DESCRIPTIONS = {
    "400": "The input is invalid; the messages say why.",
    "403": "Not signed in, or your role in the workspace does not allow this.",
    "404": "Nothing of yours by that id (other workspaces' rows are not found either), or no "
    "such page.",
    "429": "Too many requests from your account (or address) this minute: see Retry-After.",
}
RETRY_AFTER_HEADER = {
    "schema": {"type": "integer"},
    "description": "Seconds to wait before trying again.",
}


# ``?assistant=ID`` and ``?workspace=ID`` on the lists that take them.
ASSISTANT_FILTER = OpenApiParameter("assistant", int, description="Only rows of this assistant.")
WORKSPACE_FILTER = OpenApiParameter(
    "workspace", int, description="Only assistants of this workspace."
)


def refusal(description: str) -> OpenApiResponse:
    """A documented ``{"detail": ...}`` answer, for a view's own statuses (409, 429, …)."""
    return OpenApiResponse(response=ERROR.ref, description=description)


INVALID = OpenApiResponse(response=VALIDATION_ERROR.ref, description=DESCRIPTIONS["400"])
# What a view that calls the LLM answers when the gateway refuses or the provider fails.
GATEWAY_ERRORS = {
    402: OpenApiResponse(GATEWAY_ERROR.ref, "The assistant's monthly LLM budget is spent."),
    422: OpenApiResponse(GATEWAY_ERROR.ref, "The input looks like a prompt injection."),
    429: OpenApiResponse(
        {"anyOf": [GATEWAY_ERROR.ref, ERROR.ref]},
        "The assistant's LLM rate limit, or your API rate limit, is reached: see Retry-After.",
    ),
    502: OpenApiResponse(
        GATEWAY_ERROR.ref, "The LLM provider failed, after retries and fallbacks."
    ),
}
# For ``extend_schema(parameters=...)`` of the views that answer GATEWAY_ERRORS.
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    description="Seconds to wait before trying again.",
    response=[429],
)


def error_response(component: ResolvedComponent, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": component.ref}},
    }


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for component in (ERROR, VALIDATION_ERROR, GATEWAY_ERROR):
            self.registry.register_on_missing(component)
        responses = operation["responses"]
        located = {parameter["in"] for parameter in operation.get("parameters", [])}
        if self.method not in SAFE_METHODS or "query" in located:
            responses.setdefault("400", error_response(VALIDATION_ERROR, DESCRIPTIONS["400"]))
        if any(not isinstance(check, AllowAny) for check in self.view.get_permissions()):
            responses.setdefault("403", error_response(ERROR, DESCRIPTIONS["403"]))
        if located & {"path", "query"}:
            responses.setdefault("404", error_response(ERROR, DESCRIPTIONS["404"]))
        if self.view.get_throttles():
            throttled = error_response(ERROR, DESCRIPTIONS["429"])
            throttled["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
            responses.setdefault("429", throttled)
        return operation
