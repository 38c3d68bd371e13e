"""Conversation tests over REST: an assistant's tests (written, or saved from a conversation)
and runs of them on its draft."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.access import editable, member_assistant, query_text, request_user
from core.models import DEFAULT_SUITE, ConversationTest, member_rows
from quality.models import ConversationTestRun
from quality.services.conversation_tests import (
    KINDS,
    MAX_EXPECTATIONS,
    MAX_TURNS,
    conversation_test_create,
    conversation_test_from_conversation,
    conversation_test_update,
    conversation_tests_request,
)


class ExpectationSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=list(KINDS))
    name = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="The entity or variable."
    )
    value = serializers.CharField(required=False, default="", allow_blank=True)


class TurnSerializer(serializers.Serializer[dict[str, Any]]):
    user = serializers.CharField(
        allow_blank=True, help_text="What the user says; empty on a first turn: the greeting."
    )
    button = serializers.BooleanField(
        default=False, help_text="The user clicks the button with this label."
    )
    expect = ExpectationSerializer(many=True, max_length=MAX_EXPECTATIONS, default=list)  # type: ignore[call-arg]


class ConversationTestSerializer(serializers.ModelSerializer[ConversationTest]):
    suite = serializers.CharField(max_length=64, default=DEFAULT_SUITE)
    turns = TurnSerializer(many=True, max_length=MAX_TURNS)  # type: ignore[call-arg]

    class Meta:
        model = ConversationTest
        fields = [
            "id",
            "assistant",
            "name",
            "suite",
            "turns",
            "source_conversation",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "assistant", "source_conversation", "created_at", "updated_at"]


class FromConversationSerializer(serializers.Serializer[dict[str, Any]]):
    conversation = serializers.UUIDField()
    name = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


class ConversationTestRunSerializer(serializers.ModelSerializer[ConversationTestRun]):
    class Meta:
        model = ConversationTestRun
        fields = [
            "id",
            "assistant",
            "suite",
            "status",
            "stage",
            "progress",
            "error",
            "report",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class RunRequestSerializer(serializers.Serializer[dict[str, Any]]):
    suite = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Empty: every suite."
    )


class ConversationTestListView(APIView):
    """An assistant's conversation tests (``?suite=`` narrows to one suite); POST adds one."""

    @extend_schema(
        parameters=[OpenApiParameter("suite", str, description="Only the tests of this suite.")],
        responses=ConversationTestSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        tests = member_assistant(request, pk).conversation_tests.all()
        if suite := query_text(request, "suite"):
            tests = tests.filter(suite=suite)
        return Response(ConversationTestSerializer(tests, many=True).data)

    @extend_schema(request=ConversationTestSerializer, responses={201: ConversationTestSerializer})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        payload = ConversationTestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        test = conversation_test_create(assistant=assistant, **payload.validated_data)
        return Response(ConversationTestSerializer(test).data, status=status.HTTP_201_CREATED)


class ConversationTestFromConversationView(APIView):
    """Save a conversation of the assistant (test panel or production) as a test."""

    @extend_schema(request=FromConversationSerializer, responses={201: ConversationTestSerializer})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        payload = FromConversationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        test = conversation_test_from_conversation(
            assistant=assistant,
            conversation_id=payload.validated_data["conversation"],
            name=payload.validated_data["name"],
        )
        return Response(ConversationTestSerializer(test).data, status=status.HTTP_201_CREATED)


class ConversationTestView(APIView):
    def _test(self, request: Request, pk: int) -> ConversationTest:
        rows = member_rows(ConversationTest.objects.all(), request_user(request))
        return get_object_or_404(rows, pk=pk)

    @extend_schema(responses=ConversationTestSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ConversationTestSerializer(self._test(request, pk)).data)

    @extend_schema(request=ConversationTestSerializer, responses=ConversationTestSerializer)
    def put(self, request: Request, pk: int) -> Response:
        test = editable(self._test(request, pk))
        payload = ConversationTestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        conversation_test_update(test, **payload.validated_data)
        return Response(ConversationTestSerializer(test).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        editable(self._test(request, pk)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationTestRunListView(APIView):
    """Runs of the assistant's conversation tests, newest first; POST starts one on the draft
    (in the background: poll the run)."""

    @extend_schema(responses=ConversationTestRunSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        runs = member_assistant(request, pk).conversation_test_runs.all()[:50]
        return Response(ConversationTestRunSerializer(runs, many=True).data)

    @extend_schema(request=RunRequestSerializer, responses={202: ConversationTestRunSerializer})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        payload = RunRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = conversation_tests_request(assistant=assistant, suite=payload.validated_data["suite"])
        run.refresh_from_db()
        return Response(ConversationTestRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ConversationTestRunView(APIView):
    @extend_schema(responses=ConversationTestRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        rows = member_rows(ConversationTestRun.objects.all(), request_user(request))
        return Response(ConversationTestRunSerializer(get_object_or_404(rows, pk=pk)).data)
