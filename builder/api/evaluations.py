"""Evaluations of an assistant's NLU over REST: start one (a test set comes as multipart)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.access import member_assistant, request_user
from core.api.parsers import FormParser, JSONParser, MultiPartParser
from core.models import NluMode, can_edit, member_rows
from quality.models import EvaluationKind, EvaluationRun
from quality.services.evaluations import (
    evaluation_request,
    evaluation_resume,
    evaluation_stop,
    test_set_read,
)


class EvaluationSerializer(serializers.ModelSerializer[EvaluationRun]):
    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "assistant",
            "kind",
            "nlu_mode",
            "folds",
            "test_name",
            "llm_model",
            "max_items",
            "few_shot",
            "status",
            "stage",
            "progress",
            "error",
            "model_version",
            "report",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class EvaluationSummarySerializer(EvaluationSerializer):
    class Meta(EvaluationSerializer.Meta):
        fields = [name for name in EvaluationSerializer.Meta.fields if name != "report"]
        read_only_fields = fields


class EvaluationRequestSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(EvaluationKind.values)
    folds = serializers.IntegerField(min_value=2, max_value=10, default=5)
    test_set = serializers.FileField(
        required=False, help_text="For kind test_set (or compare): JSONL or CSV text,intent."
    )
    llm_model = serializers.CharField(required=False, default="", allow_blank=True)
    max_items = serializers.IntegerField(min_value=1, max_value=5000, default=200)
    few_shot = serializers.IntegerField(min_value=0, max_value=10, default=3)
    nlu_mode = serializers.ChoiceField(
        NluMode.choices,
        required=False,
        help_text="The mode the evaluation's models train in; the assistant's by default. "
        "Fast gives a quick estimate for an accurate-mode assistant.",
    )


class EvaluationControlSerializer(serializers.Serializer[dict[str, Any]]):
    action = serializers.ChoiceField(["stop", "resume"])


class EvaluationListView(APIView):
    """The assistant's evaluations, newest first (without their reports); POST starts one."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=EvaluationSummarySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        runs = member_assistant(request, pk).evaluations.defer("test_set", "report")[:50]
        return Response(EvaluationSummarySerializer(runs, many=True).data)

    @extend_schema(
        request={"multipart/form-data": EvaluationRequestSerializer},
        responses={202: EvaluationSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        if not can_edit(assistant.member_role):
            raise PermissionDenied("Viewers cannot start evaluations.")
        payload = EvaluationRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        upload = values.get("test_set")
        run = evaluation_request(
            assistant=assistant,
            kind=values["kind"],
            folds=values["folds"],
            test_name=upload.name if upload else "",
            test_set=test_set_read(upload.name or "", upload.read()) if upload else None,
            llm_model=values["llm_model"],
            max_items=values["max_items"],
            few_shot=values["few_shot"],
            nlu_mode=values.get("nlu_mode"),
        )
        run.refresh_from_db()
        return Response(EvaluationSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class EvaluationView(APIView):
    @extend_schema(responses=EvaluationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(
            member_rows(EvaluationRun.objects.all(), request_user(request)), pk=pk
        )
        return Response(EvaluationSerializer(run).data)


class EvaluationControlView(APIView):
    """POST ``{"action": "stop"}`` stops a comparison between two utterances;
    ``{"action": "resume"}`` goes on with a stopped or failed one from where it was (finished
    utterances are neither asked nor billed again)."""

    @extend_schema(request=EvaluationControlSerializer, responses=EvaluationSummarySerializer)
    def post(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(
            member_rows(EvaluationRun.objects.all(), request_user(request)), pk=pk
        )
        if not can_edit(run.member_role):
            raise PermissionDenied("Viewers cannot stop or resume evaluations.")
        payload = EvaluationControlSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if payload.validated_data["action"] == "stop":
            run = evaluation_stop(run=run)
        else:
            run = evaluation_resume(run=run)
        return Response(EvaluationSummarySerializer(run).data)
