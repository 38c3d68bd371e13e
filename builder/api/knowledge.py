"""REST endpoints of an assistant's knowledge base: settings, documents, and questions."""

from __future__ import annotations

from typing import Any, cast

from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.access import editable, member_assistant, request_user
from core.api.parsers import FormParser, JSONParser, MultiPartParser
from core.models import member_rows
from knowledge.answering import kb_answer
from knowledge.index import MODES
from knowledge.models import Chunk, Document, KnowledgeBase
from knowledge.search import kb_search
from knowledge.services import (
    document_delete,
    document_link,
    document_refresh,
    document_upload,
    knowledge_base_of,
    knowledge_base_update,
)


def _document(request: Request, pk: int, *, edit: bool = False) -> Document:
    """A document of the caller's workspaces (without its bytes), with the caller's role."""
    rows = member_rows(
        Document.objects.select_related("knowledge_base").defer("content"),
        request_user(request),
        assistant="knowledge_base__assistant",
    )
    document = get_object_or_404(rows, pk=pk)
    return cast(Document, editable(document)) if edit else document


class KnowledgeBaseSerializer(serializers.ModelSerializer[KnowledgeBase]):
    documents = serializers.SerializerMethodField()
    chunks = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeBase
        fields = [
            "id",
            "assistant",
            "chunk_tokens",
            "overlap_tokens",
            "top_k",
            "min_score",
            "fusion",
            "documents",
            "chunks",
            "updated_at",
        ]
        read_only_fields = ["id", "assistant", "updated_at"]

    def get_documents(self, kb: KnowledgeBase) -> int:
        return kb.documents.count()

    def get_chunks(self, kb: KnowledgeBase) -> int:
        return kb.chunks.count()


class DocumentSerializer(serializers.ModelSerializer[Document]):
    url = serializers.CharField(read_only=True, help_text="The page fetched; empty for a file.")

    class Meta:
        model = Document
        fields = [
            "id",
            "name",
            "url",
            "refresh_hours",
            "format",
            "size",
            "title",
            "tags",
            "status",
            "progress",
            "error",
            "chunk_count",
            "fetched_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DocumentCreateSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(required=False, help_text="A document to upload.")
    url = serializers.URLField(required=False, max_length=2000, help_text="Or a page to fetch.")
    refresh_hours = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("url" in attrs):
            raise serializers.ValidationError("Send either a file or a url.")
        return attrs


class ChunkSerializer(serializers.ModelSerializer[Chunk]):
    class Meta:
        model = Chunk
        fields = ["id", "position", "heading", "text", "tokens"]


class QuerySerializer(serializers.Serializer[dict[str, Any]]):
    question = serializers.CharField(max_length=2000)
    mode = serializers.ChoiceField(
        ["answer", "retrieve"],
        default="answer",
        help_text="answer: through the LLM, with sources; retrieve: passages only, no LLM.",
    )
    search = serializers.ChoiceField(list(MODES), default="hybrid")
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=50)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False)


class KnowledgeBaseView(APIView):
    """The assistant's knowledge base and its search settings."""

    @extend_schema(responses=KnowledgeBaseSerializer)
    def get(self, request: Request, pk: int) -> Response:
        kb = knowledge_base_of(member_assistant(request, pk))
        return Response(KnowledgeBaseSerializer(kb).data)

    @extend_schema(request=KnowledgeBaseSerializer, responses=KnowledgeBaseSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        kb = knowledge_base_of(member_assistant(request, pk, edit=True))
        payload = KnowledgeBaseSerializer(kb, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        kb = knowledge_base_update(kb, **payload.validated_data)
        return Response(KnowledgeBaseSerializer(kb).data)


class DocumentListView(APIView):
    """Documents of the knowledge base; POST uploads a file (multipart) or links a URL."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        kb = knowledge_base_of(member_assistant(request, pk))
        return Response(DocumentSerializer(kb.documents.defer("content"), many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": DocumentCreateSerializer,
            "application/json": DocumentCreateSerializer,
        },
        responses={202: DocumentSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        kb = knowledge_base_of(member_assistant(request, pk, edit=True))
        data = request.data
        if isinstance(data, QueryDict) and "tags" in data:  # a form repeats the field per tag
            data = {**data.dict(), "tags": data.getlist("tags")}
        payload = DocumentCreateSerializer(data=data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        if "file" in values:
            upload = values["file"]
            document = document_upload(
                kb, name=upload.name or "upload", data=upload.read(), tags=values.get("tags")
            )
        else:
            document = document_link(
                kb,
                url=values["url"],
                refresh_hours=values.get("refresh_hours"),
                tags=values.get("tags"),
            )
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentView(APIView):
    @extend_schema(responses=DocumentSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(DocumentSerializer(_document(request, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        document_delete(_document(request, pk, edit=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentRefreshView(APIView):
    """Read the document again (fetch its URL again)."""

    @extend_schema(request=None, responses={202: DocumentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        document = document_refresh(_document(request, pk, edit=True))
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentChunksView(APIView):
    @extend_schema(responses=ChunkSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        document = _document(request, pk)
        return Response(ChunkSerializer(document.chunks.all(), many=True).data)


class QueryView(APIView):
    """Ask the knowledge base: an answer with sources, or the passages alone."""

    @extend_schema(request=QuerySerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        kb = knowledge_base_of(member_assistant(request, pk))
        payload = QuerySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        if values["mode"] == "answer":
            return Response(kb_answer(kb, values["question"], tags=values.get("tags")).as_dict())
        retrieval = kb_search(
            kb,
            values["question"],
            k=values.get("top_k"),
            mode=values["search"],
            tags=values.get("tags"),
        )
        return Response(
            {
                "passages": [
                    passage.as_dict() | {"passes_threshold": passage.relevance >= kb.min_score}
                    for passage in retrieval.passages
                ],
                "min_score": kb.min_score,
                "latency_ms": round(retrieval.latency_ms, 3),
            }
        )


urlpatterns = [
    path("assistants/<int:pk>/knowledge/", KnowledgeBaseView.as_view(), name="knowledge-base"),
    path(
        "assistants/<int:pk>/knowledge/documents/",
        DocumentListView.as_view(),
        name="knowledge-documents",
    ),
    path("assistants/<int:pk>/knowledge/query/", QueryView.as_view(), name="knowledge-query"),
    path("knowledge/documents/<int:pk>/", DocumentView.as_view(), name="knowledge-document"),
    path(
        "knowledge/documents/<int:pk>/refresh/",
        DocumentRefreshView.as_view(),
        name="knowledge-document-refresh",
    ),
    path(
        "knowledge/documents/<int:pk>/chunks/",
        DocumentChunksView.as_view(),
        name="knowledge-document-chunks",
    ),
]
