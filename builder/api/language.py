"""REST endpoints of the language tools: clarity and conflicts, suggested utterances and entity
values, cold-start synthesis, and the fixes conflicts call for (move an utterance, merge
intents)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from builder.api.gateway import gateway_error_response
from builder.services.analysis import latest_analysis
from builder.services.fixes import intents_merge, utterance_move
from builder.services.suggestions import (
    MAX_SUGGESTIONS,
    entity_values_suggest,
    intent_synthesise,
    utterances_suggest,
)
from core.api.access import editable, member_assistant, request_user
from core.api.schema import GATEWAY_ERRORS, INVALID, RETRY_AFTER
from core.models import Entity, Intent, Utterance, member_rows
from gateway.errors import GatewayError


def _intent(request: Request, pk: int) -> Intent:
    return editable(
        get_object_or_404(
            member_rows(Intent.objects.select_related("assistant"), request_user(request)), pk=pk
        )
    )


class CountSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField(min_value=1, max_value=MAX_SUGGESTIONS, default=10)


class AnalysisView(APIView):
    """Clarity per intent and for the assistant, and the conflicts in its data: duplicates and
    near duplicates across intents, misplaced utterances, intent pairs the model confuses.
    Recomputed after each training; ``current`` is false while a newer one is on its way."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        analysis, current = latest_analysis(member_assistant(request, pk))
        return Response({"analysis": analysis, "current": current})


class IntentSuggestionsView(APIView):
    """New utterances for the intent from the assistant's LLM, none a copy of an existing one;
    each with ``conflict`` (null, or the other intent it sits with and the closest example).
    Nothing is saved: add the ones you accept through ``/api/intents/{id}/utterances/``."""

    @extend_schema(
        request=CountSerializer,
        parameters=[RETRY_AFTER],
        responses={200: dict, **GATEWAY_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        intent = _intent(request, pk)
        payload = CountSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            return Response(utterances_suggest(intent=intent, **payload.validated_data))
        except GatewayError as error:
            return gateway_error_response(error)


class IntentSynthesisView(APIView):
    """Cold start: write a starting set of utterances from the intent's name and description
    and add those that do not sit with another intent (the NLU retrains)."""

    @extend_schema(
        request=CountSerializer,
        parameters=[RETRY_AFTER],
        responses={200: dict, **GATEWAY_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        intent = _intent(request, pk)
        payload = CountSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            added = intent_synthesise(intent=intent, **payload.validated_data)
        except GatewayError as error:
            return gateway_error_response(error)
        return Response({"added": added})


class EntitySuggestionsView(APIView):
    """New values (with synonyms) for a list entity, and missing synonyms of its values; nothing
    is saved until you update the entity with the ones you accept. An answer the LLM did not
    finish still gives the values it wrote in full, with ``note`` saying so; 400 when nothing
    in the answer could be read."""

    @extend_schema(
        request=CountSerializer,
        parameters=[RETRY_AFTER],
        responses={200: dict, 400: INVALID, **GATEWAY_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        entity = editable(
            get_object_or_404(
                member_rows(Entity.objects.select_related("assistant"), request_user(request)),
                pk=pk,
            )
        )
        payload = CountSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            return Response(entity_values_suggest(entity=entity, **payload.validated_data))
        except GatewayError as error:
            return gateway_error_response(error)


class MoveSerializer(serializers.Serializer[dict[str, Any]]):
    intent = serializers.IntegerField(help_text="The intent (of the same assistant) to move to.")


class UtteranceMoveView(APIView):
    """Move an utterance to another intent of its assistant (the NLU retrains)."""

    @extend_schema(request=MoveSerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        rows = member_rows(
            Utterance.objects.select_related("intent__assistant"),
            request_user(request),
            assistant="intent__assistant",
        )
        utterance = editable(get_object_or_404(rows, pk=pk))
        payload = MoveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        target = get_object_or_404(
            Intent.objects.filter(assistant_id=utterance.intent.assistant_id),
            pk=payload.validated_data["intent"],
        )
        utterance_move(utterance=utterance, intent=target)
        return Response({"utterance": pk, "intent": target.pk, "intent_name": target.name})


class MergeSerializer(serializers.Serializer[dict[str, Any]]):
    into = serializers.IntegerField(help_text="The intent (of the same assistant) that stays.")


class IntentMergeView(APIView):
    """Merge this intent into another: utterances move, flows route on the other, this one is
    deleted (the NLU retrains)."""

    @extend_schema(request=MergeSerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        source = _intent(request, pk)
        payload = MergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        into = get_object_or_404(
            Intent.objects.filter(assistant_id=source.assistant_id),
            pk=payload.validated_data["into"],
        )
        merged = intents_merge(source=source, into=into)
        return Response(
            {"intent": merged.pk, "name": merged.name, "utterances": merged.utterances.count()}
        )
