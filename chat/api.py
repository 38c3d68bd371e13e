"""The dialog over plain HTTP: the same turns, sessions and transcripts as the websocket."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.access import member_assistant, query_text, request_user
from core.api.schema import refusal
from core.models import Assistant, member_rows
from runtime.engine import Turn
from runtime.listings import origin_allowed, own_origin
from runtime.models import Channel, Conversation, Rating
from runtime.services import (
    MAX_COMMENT,
    MAX_TEXT_CHARS,
    Dialog,
    DialogUnavailable,
    FeedbackRefused,
    dialog_begin,
    dialog_open,
    dialog_say,
    feedback_record,
)
from runtime.transcripts import conversations_find, transcript


def page_allowed(request: Request, assistant: Assistant) -> None:
    """Refuse (403) a browser page that may not chat with ``assistant``, as the web chat's
    socket does: this server's own origin (the scheme, host and port the request came to) and
    the sites the assistant lists, each on its full origin, may. A caller that sends no Origin
    is not a browser page (a server with its token) and is not refused here."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    own = own_origin(request.scheme or "http", request.get_host())
    if not origin_allowed(origin, own, assistant.allowed_origins):
        raise PermissionDenied("Pages of this site may not chat with this assistant.")


class InteractSerializer(serializers.Serializer[dict[str, Any]]):
    user = serializers.CharField(max_length=64, help_text="Your end user's id on your channel.")
    conversation = serializers.UUIDField(required=False, allow_null=True)
    text = serializers.CharField(required=False, max_length=MAX_TEXT_CHARS)
    button = serializers.IntegerField(required=False, min_value=0)


class InteractView(APIView):
    """One turn with the published assistant: send text (or a button index), get the replies.

    Without ``conversation`` a new one starts and its greeting comes back; keep the returned id
    to carry on. Every frame has the same ``seq`` numbers the websocket uses.
    """

    @extend_schema(
        request=InteractSerializer,
        responses={
            200: dict,
            409: refusal("The assistant cannot chat yet (not published, or no flow)."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        page_allowed(request, assistant)
        payload = InteractSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        frames: list[dict[str, Any]] = []

        async def collect(frame: dict[str, Any]) -> None:
            frames.append(frame)

        async def turn() -> tuple[Dialog, Turn | None]:
            conversation = data.get("conversation")
            dialog = await dialog_open(
                assistant_id=assistant.pk,
                channel=Channel.API,
                end_user=data["user"],
                conversation_id=str(conversation) if conversation else None,
            )
            greeted = await dialog_begin(dialog, collect)
            said = await dialog_say(
                dialog, collect, text=data.get("text"), button=data.get("button")
            )
            return dialog, said or greeted

        try:
            dialog, done = async_to_sync(turn)()
        except DialogUnavailable as unavailable:
            return Response({"detail": str(unavailable)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "conversation": dialog.conversation_id,
                "messages": frames,
                "turn": None
                if done is None
                else {
                    "intent": done.intent,
                    "confidence": done.confidence,
                    "path": done.path,
                    "knowledge": done.knowledge,
                    "decided_by": done.decided_by,
                },
            }
        )


class FeedbackSerializer(serializers.Serializer[dict[str, Any]]):
    user = serializers.CharField(max_length=64)
    conversation = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1, help_text="The rated message's number.")
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=MAX_COMMENT
    )


class FeedbackView(APIView):
    """The end user's thumbs up or down on one of the assistant's messages of a conversation
    over this API; thumbs-down on generated replies show up in their prompt's backtests."""

    @extend_schema(request=FeedbackSerializer, responses={201: FeedbackSerializer})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        page_allowed(request, assistant)
        payload = FeedbackSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        conversation = Conversation.objects.filter(
            pk=data["conversation"],
            assistant=assistant,
            channel=Channel.API,
            end_user=data["user"],
        ).first()
        if conversation is None:
            return Response(
                {"detail": "No such conversation of this user."},
                status=status.HTTP_404_NOT_FOUND,
            )
        try:
            feedback_record(str(conversation.pk), data["seq"], data["rating"], data["comment"])
        except FeedbackRefused as refused:
            return Response({"seq": [str(refused)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(FeedbackSerializer(data).data, status=status.HTTP_201_CREATED)


class ConversationSerializer(serializers.ModelSerializer[Conversation]):
    turn_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "channel", "end_user", "version", "turn_count", "created_at", "updated_at"]


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Words said, or the end user's id."),
            OpenApiParameter("channel", str, description="web, api, …"),
            OpenApiParameter("path", str, description="How a turn was decided, e.g. fallback."),
        ]
    )
)
class ConversationListView(ListAPIView[Conversation]):
    """The assistant's conversations, newest first; ``?q=`` words said (or a user id),
    ``?channel=``, ``?path=`` (a turn decided by it, e.g. ``fallback``)."""

    serializer_class = ConversationSerializer

    def get_queryset(self) -> QuerySet[Conversation]:
        request = self.request
        assistant = member_assistant(request, self.kwargs["pk"])
        return conversations_find(
            assistant,
            text=query_text(request, "q")[:200],
            channel=query_text(request, "channel"),
            path=query_text(request, "path"),
        )


class TranscriptView(APIView):
    """One conversation as lines, each user line with how its turn was understood."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: str) -> Response:
        conversation = get_object_or_404(
            member_rows(Conversation.objects.all(), request_user(request)), pk=pk
        )
        return Response(
            {
                **ConversationSerializer(conversation).data,
                "lines": [line.as_dict() for line in transcript(conversation)],
            }
        )


urlpatterns = [
    path("assistants/<int:pk>/interact/", InteractView.as_view(), name="interact"),
    path("assistants/<int:pk>/feedback/", FeedbackView.as_view(), name="feedback"),
    path(
        "assistants/<int:pk>/conversations/",
        ConversationListView.as_view(),
        name="conversation-list",
    ),
    path("conversations/<uuid:pk>/", TranscriptView.as_view(), name="transcript"),
]
