"""Prompt tests over REST: a prompt's test cases, and runs of them on a version against one or
several models, repeated to measure pass rates."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.access import editable, request_user
from core.models import Prompt, PromptTestCase, PromptVersion, member_rows
from quality.models import PromptTestRun
from quality.services.backtests import backtest_case_create, backtests
from quality.services.prompt_checks import KINDS
from quality.services.prompt_tests import (
    MAX_MODELS,
    MAX_REPETITIONS,
    prompt_test_case_create,
    prompt_tests_request,
)


class CheckSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=list(KINDS))
    value = serializers.CharField(required=False, default="", allow_blank=True)


class PromptTestCaseSerializer(serializers.ModelSerializer[PromptTestCase]):
    values = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)
    checks = CheckSerializer(many=True)

    class Meta:
        model = PromptTestCase
        fields = ["id", "prompt", "name", "values", "checks", "created_at"]
        read_only_fields = ["id", "prompt", "created_at"]


class PromptTestRunSerializer(serializers.ModelSerializer[PromptTestRun]):
    class Meta:
        model = PromptTestRun
        fields = [
            "id",
            "version",
            "model_keys",
            "repetitions",
            "status",
            "stage",
            "progress",
            "error",
            "report",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class PromptTestRunRequestSerializer(serializers.Serializer[dict[str, Any]]):
    models = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        max_length=MAX_MODELS,
        help_text="Catalogue keys to compare; none: the version's own model.",
    )
    repetitions = serializers.IntegerField(min_value=1, max_value=MAX_REPETITIONS, default=1)


def _prompt(request: Request, pk: int) -> Prompt:
    rows = member_rows(Prompt.objects.select_related("assistant"), request_user(request))
    return get_object_or_404(rows, pk=pk)


class PromptTestCaseListView(APIView):
    """A prompt's test cases; POST adds one."""

    @extend_schema(responses=PromptTestCaseSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        cases = _prompt(request, pk).test_cases.all()
        return Response(PromptTestCaseSerializer(cases, many=True).data)

    @extend_schema(request=PromptTestCaseSerializer, responses={201: PromptTestCaseSerializer})
    def post(self, request: Request, pk: int) -> Response:
        prompt = editable(_prompt(request, pk))
        payload = PromptTestCaseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = prompt_test_case_create(prompt=prompt, **payload.validated_data)
        return Response(PromptTestCaseSerializer(case).data, status=status.HTTP_201_CREATED)


class PromptTestCaseView(APIView):
    def _case(self, request: Request, pk: int) -> PromptTestCase:
        rows = member_rows(
            PromptTestCase.objects.all(), request_user(request), assistant="prompt__assistant"
        )
        return get_object_or_404(rows, pk=pk)

    @extend_schema(responses=PromptTestCaseSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(PromptTestCaseSerializer(self._case(request, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        editable(self._case(request, pk)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PromptTestRunListView(APIView):
    """Runs of the prompt's test cases on this version, newest first; POST starts one (in the
    background: poll the run)."""

    def _version(self, request: Request, pk: int) -> PromptVersion:
        rows = member_rows(
            PromptVersion.objects.select_related("prompt__assistant"),
            request_user(request),
            assistant="prompt__assistant",
        )
        return get_object_or_404(rows, pk=pk)

    @extend_schema(responses=PromptTestRunSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        runs = self._version(request, pk).test_runs.all()[:50]
        return Response(PromptTestRunSerializer(runs, many=True).data)

    @extend_schema(request=PromptTestRunRequestSerializer, responses={202: PromptTestRunSerializer})
    def post(self, request: Request, pk: int) -> Response:
        version = editable(self._version(request, pk))
        payload = PromptTestRunRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = prompt_tests_request(
            version=version,
            model_keys=payload.validated_data["models"],
            repetitions=payload.validated_data["repetitions"],
        )
        run.refresh_from_db()
        return Response(PromptTestRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class PromptTestRunView(APIView):
    @extend_schema(responses=PromptTestRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        rows = member_rows(
            PromptTestRun.objects.all(),
            request_user(request),
            assistant="version__prompt__assistant",
        )
        return Response(PromptTestRunSerializer(get_object_or_404(rows, pk=pk)).data)


class BacktestSerializer(serializers.Serializer[dict[str, Any]]):
    call = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    version = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(help_text="invalid, refused, truncated, blocked, failed, …")
    inputs = serializers.DictField(help_text="The prompt's values, personal data redacted.")
    replayed = serializers.BooleanField(help_text="A test case replays it already.")


class BacktestRequestSerializer(serializers.Serializer[dict[str, Any]]):
    call = serializers.UUIDField()


class BacktestListView(APIView):
    """The prompt's production calls that went wrong; POST ``{"call": id}`` makes one a test
    case that replays it."""

    @extend_schema(responses=BacktestSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        rows = [
            {
                "call": row["call"].pk,
                "created_at": row["call"].created_at,
                "version": row["version"],
                "problem": row["problem"],
                "inputs": row["call"].inputs,
                "replayed": row["replayed"],
            }
            for row in backtests(_prompt(request, pk))
        ]
        return Response(BacktestSerializer(instance=rows, many=True).data)  # type: ignore[arg-type]

    @extend_schema(request=BacktestRequestSerializer, responses={201: PromptTestCaseSerializer})
    def post(self, request: Request, pk: int) -> Response:
        prompt = editable(_prompt(request, pk))
        payload = BacktestRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = backtest_case_create(prompt=prompt, call_id=payload.validated_data["call"])
        return Response(PromptTestCaseSerializer(case).data, status=status.HTTP_201_CREATED)
