"""REST endpoints for the model catalogue and LLM usage."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any, cast

from django.contrib.auth.models import User
from django.http import HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from core.api.access import query_id
from core.api.schema import GATEWAY_ERRORS, INVALID, RETRY_AFTER
from core.models import Assistant, Prompt, Workspace, can_edit
from gateway.calls import Completion, Delta, Done, astream, complete, prompt_call
from gateway.errors import GatewayError, RateLimited
from gateway.models import LlmModel, Provider, Purpose
from gateway.usage import usage_report
from runtime.usage import nlu_usage

MAX_DAYS = 366


class StaffWrites(permissions.IsAuthenticated):
    """Everyone signed in reads the catalogue; only staff change models and prices."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_staff)


class LlmModelSerializer(serializers.ModelSerializer[LlmModel]):
    provider = serializers.SlugRelatedField(slug_field="key", queryset=Provider.objects.all())
    fallback = serializers.SlugRelatedField(
        slug_field="key", queryset=LlmModel.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = LlmModel
        fields = [
            "id",
            "key",
            "provider",
            "name",
            "input_price",
            "output_price",
            "context_window",
            "supports_json_schema",
            "fallback",
        ]
        extra_kwargs = {
            "input_price": {"help_text": "US dollars per million input tokens; null: unknown."},
            "output_price": {"help_text": "US dollars per million output tokens; null: unknown."},
        }


class LlmModelViewSet(viewsets.ModelViewSet[LlmModel]):
    """The model catalogue: prices per million tokens, context windows and fallbacks."""

    serializer_class = LlmModelSerializer
    permission_classes = [StaffWrites]
    queryset = LlmModel.objects.select_related("provider", "fallback")


class UsageRowSerializer(serializers.Serializer[dict[str, Any]]):
    day = serializers.DateField()
    assistant_id = serializers.IntegerField(allow_null=True)
    assistant = serializers.CharField()
    model = serializers.CharField()
    purpose = serializers.CharField()
    attempts = serializers.IntegerField()
    failed = serializers.IntegerField()
    cache_hits = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=16, decimal_places=8)
    unknown_cost = serializers.IntegerField(help_text="Attempts whose price is unknown.")
    latency_p50_ms = serializers.FloatField()
    latency_p99_ms = serializers.FloatField()
    first_token_p50_ms = serializers.FloatField(allow_null=True)


USAGE_PARAMETERS = [
    OpenApiParameter("workspace", int, required=True),
    OpenApiParameter("assistant", int),
    OpenApiParameter("days", int, description=f"1 to {MAX_DAYS}; default 30"),
]


def _usage_query(request: Request) -> dict[str, Any]:
    """The workspace (the user's), assistant (of it) and period a usage request asks for."""
    user = cast(User, request.user)
    params = request.query_params
    workspace_id = params.get("workspace", "")
    if not workspace_id.isdecimal():
        raise serializers.ValidationError({"workspace": "Give the workspace's id."})
    workspace = get_object_or_404(Workspace.objects.for_member(user), pk=query_id(workspace_id))
    asked = params.get("assistant")
    assistant_id = None
    if asked is not None:
        assistant_id = get_object_or_404(
            Assistant.objects.filter(workspace=workspace), pk=query_id(asked)
        ).pk
    days = params.get("days", "30")
    if not (days.isdecimal() and len(days) <= 3 and 1 <= int(days) <= MAX_DAYS):
        raise serializers.ValidationError({"days": f"Use a whole number from 1 to {MAX_DAYS}."})
    return {"workspace_id": workspace.pk, "assistant_id": assistant_id, "days": int(days)}


class UsageView(APIView):
    """LLM usage and cost of one workspace per day, assistant, model and purpose, with
    latency."""

    @extend_schema(
        parameters=USAGE_PARAMETERS, responses={200: UsageRowSerializer(many=True), 400: INVALID}
    )
    def get(self, request: Request) -> Response:
        rows = usage_report(**_usage_query(request))
        serializer = UsageRowSerializer(instance=[asdict(row) for row in rows], many=True)  # type: ignore[arg-type]
        return Response(serializer.data)


class NluUsageRowSerializer(serializers.Serializer[dict[str, Any]]):
    day = serializers.DateField()
    assistant_id = serializers.IntegerField()
    assistant = serializers.CharField()
    turns = serializers.IntegerField(help_text="User turns the in-house NLU understood.")
    matched = serializers.IntegerField(help_text="Of them, those given an intent.")
    decided_by_llm = serializers.IntegerField(help_text="Hybrid mode: the LLM chose the intent.")
    nlu_p50_ms = serializers.FloatField()
    nlu_p99_ms = serializers.FloatField()


class NluUsageView(APIView):
    """The in-house NLU's turns and latency in live conversations, per day and assistant."""

    @extend_schema(
        parameters=USAGE_PARAMETERS,
        responses={200: NluUsageRowSerializer(many=True), 400: INVALID},
    )
    def get(self, request: Request) -> Response:
        rows = nlu_usage(**_usage_query(request))
        serializer = NluUsageRowSerializer(instance=[asdict(row) for row in rows], many=True)  # type: ignore[arg-type]
        return Response(serializer.data)


class PromptRunSerializer(serializers.Serializer[dict[str, Any]]):
    values = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)
    version = serializers.IntegerField(required=False, help_text="Default: the latest.")
    stream = serializers.BooleanField(
        default=False, help_text="Server-sent events, token by token."
    )


ERROR_STATUS = {
    "prompt_invalid": 400,
    "injection": 422,
    "rate_limited": 429,
    "budget_exceeded": 402,
}


def gateway_error_body(error: GatewayError) -> dict[str, Any]:
    return {"error": error.kind, "detail": str(error), "request_id": error.request_id}


def gateway_error_response(error: GatewayError) -> Response:
    """A gateway failure as an API answer: its kind, message and request id, with the status
    that fits (4xx for the caller's limits and prompts, 502 for the provider), Retry-After on
    rate limits."""
    response = Response(gateway_error_body(error), status=ERROR_STATUS.get(error.kind, 502))
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(math.ceil(error.retry_after))
    return response


def completion_body(completion: Completion) -> dict[str, Any]:
    body = asdict(completion)
    body["cost"] = None if completion.cost is None else str(completion.cost)
    return body


# One server-sent event of a streamed run.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["delta", "done", "error"]},
        "data": {
            "type": "string",
            "description": "JSON: ``{text}`` for a delta, the completion when done, the error "
            "(with ``partial_text``) when it broke off.",
        },
    },
    "required": ["event", "data"],
}


class PromptRunView(APIView):
    """Run a prompt version with values: one answer, or a stream of server-sent events
    (``delta`` with text, then ``done`` with the usage, or ``error`` after partial text)."""

    @extend_schema(
        request=PromptRunSerializer,
        parameters=[RETRY_AFTER],
        responses={
            (200, "application/json"): dict,
            (200, "text/event-stream"): OpenApiResponse(SSE_EVENT, "With ``stream``: events."),
            **GATEWAY_ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> HttpResponseBase:
        user = cast(User, request.user)
        prompt = get_object_or_404(Prompt.objects.for_member(user), pk=pk)
        if not can_edit(prompt.member_role):
            raise PermissionDenied("Viewers cannot run prompts.")
        payload = PromptRunSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        versions = prompt.versions.select_related("model__provider")
        number = payload.validated_data.get("version")
        version = get_object_or_404(versions, number=number) if number else versions.first()
        if version is None:
            raise NotFound("This prompt has no versions.")
        try:
            options = prompt_call(
                version,
                payload.validated_data["values"],
                purpose=Purpose.TEST,
                workspace_id=prompt.assistant.workspace_id,
                assistant_id=prompt.assistant_id,
            )
        except GatewayError as error:
            return Response(gateway_error_body(error), status=400)
        if payload.validated_data["stream"]:
            events = StreamingHttpResponse(_events(options), content_type="text/event-stream")
            events["Cache-Control"] = "no-cache"
            return events
        try:
            completion = complete(**options)
        except GatewayError as error:
            return gateway_error_response(error)
        return Response(completion_body(completion))


async def _events(options: dict[str, Any]) -> AsyncIterator[str]:
    async for event in astream(**options):
        if isinstance(event, Delta):
            yield _sse("delta", {"text": event.text})
        elif isinstance(event, Done):
            yield _sse("done", completion_body(event.completion))
        else:
            body = gateway_error_body(event.error) | {"partial_text": event.partial_text}
            yield _sse("error", body)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


router = SimpleRouter()
router.register("llm-models", LlmModelViewSet, basename="llm-model")

urlpatterns = [
    path("usage/", UsageView.as_view(), name="usage"),
    path("usage/nlu/", NluUsageView.as_view(), name="usage-nlu"),
    path("prompts/<int:pk>/run/", PromptRunView.as_view(), name="prompt-run"),
    *router.urls,
]
