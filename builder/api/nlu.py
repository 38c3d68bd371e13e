"""REST endpoints for intents, utterances, entities and flows, NLU training, and the test parse."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Count, QuerySet
from django.db.models.functions import Lower
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from builder import services
from builder.api.serializers import AssistantOwned
from builder.services.checks import pretrain_checks
from core.api.access import editable, member_assistant, of_assistant, query_text, request_user
from core.api.permissions import WorkspaceRole
from core.api.schema import ASSISTANT_FILTER, refusal
from core.models import (
    NAME_MAX_LENGTH,
    Assistant,
    AssistantVersion,
    Entity,
    EntityKind,
    Flow,
    Intent,
    TrainingRun,
    Utterance,
    Workspace,
    can_edit,
    member_rows,
)
from nlu.registry import NotPublished
from nlu.store import registry


class AnnotationSerializer(serializers.Serializer[dict[str, Any]]):
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)
    entity = serializers.CharField()
    value = serializers.CharField(required=False)


class UtteranceSerializer(serializers.ModelSerializer[Utterance]):
    entities = AnnotationSerializer(many=True, required=False)

    class Meta:
        model = Utterance
        fields = ["id", "text", "entities", "created_at"]
        read_only_fields = ["id", "created_at"]


class IntentSerializer(AssistantOwned):
    assistant = serializers.PrimaryKeyRelatedField(queryset=Assistant.objects.none())
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    utterance_count = serializers.IntegerField(read_only=True)
    utterances = serializers.ListField(
        child=serializers.JSONField(),
        write_only=True,
        required=False,
        help_text="First utterances: strings, or {text, entities} with annotations.",
    )

    class Meta:
        model = Intent
        fields = [
            "id",
            "assistant",
            "name",
            "description",
            "required_entities",
            "utterance_count",
            "utterances",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(parameters=[ASSISTANT_FILTER]))
class IntentViewSet(viewsets.ModelViewSet[Intent]):
    """Intents of your assistants (``?assistant=ID``). Every change retrains the draft NLU.
    Deleting one that a flow uses (a trigger, a route, a condition) is refused with 400, naming
    each flow and step."""

    serializer_class = IntentSerializer
    permission_classes = [WorkspaceRole]

    def get_queryset(self) -> QuerySet[Intent]:
        intents = member_rows(Intent.objects.all(), request_user(self.request))
        counted = intents.annotate(utterance_count=Count("utterances"))
        # Meta.ordering does not apply to a GROUP BY query; pages need a stable order.
        return of_assistant(self.request, counted).order_by(Lower("name"), "id")

    def perform_create(self, serializer: BaseSerializer[Intent]) -> None:
        data = dict(serializer.validated_data)
        intent = services.intent_create(assistant=editable(data.pop("assistant")), **data)
        serializer.instance = self.get_queryset().get(pk=intent.pk)

    def perform_update(self, serializer: BaseSerializer[Intent]) -> None:
        data = dict(serializer.validated_data)
        data.pop("utterances", None)
        services.intent_update(intent=cast(Intent, serializer.instance), **data)
        serializer.instance = self.get_queryset().get(pk=cast(Intent, serializer.instance).pk)

    def perform_destroy(self, instance: Intent) -> None:
        services.intent_delete(intent=instance)


class UtteranceBatchSerializer(serializers.Serializer[dict[str, Any]]):
    utterances = serializers.ListField(
        child=serializers.JSONField(), help_text="Strings, or {text, entities}."
    )


class IntentUtterancesView(APIView):
    """An intent's utterances; POST adds many at once (bulk paste), skipping duplicates."""

    def intent(self, pk: int) -> Intent:
        return get_object_or_404(
            member_rows(Intent.objects.all(), request_user(self.request)), pk=pk
        )

    @extend_schema(
        parameters=[OpenApiParameter("search", str, description="Only utterances with this.")],
        responses=UtteranceSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        utterances = self.intent(pk).utterances.all()
        search = query_text(request, "search").strip()
        if search:
            utterances = utterances.filter(text__icontains=search)
        return Response(UtteranceSerializer(utterances, many=True).data)

    @extend_schema(
        request=UtteranceBatchSerializer, responses={201: UtteranceSerializer(many=True)}
    )
    def post(self, request: Request, pk: int) -> Response:
        intent = self.intent(pk)
        if not can_edit(intent.member_role):  # type: ignore[attr-defined]
            raise PermissionDenied("Viewers cannot change intents.")
        payload = UtteranceBatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        added = services.utterances_add(
            intent=intent, utterances=payload.validated_data["utterances"]
        )
        return Response(UtteranceSerializer(added, many=True).data, status=status.HTTP_201_CREATED)


class UtteranceViewSet(
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Utterance],
):
    """One utterance: change its text and annotations, or delete it."""

    serializer_class = UtteranceSerializer
    permission_classes = [WorkspaceRole]

    def get_queryset(self) -> QuerySet[Utterance]:
        rows = member_rows(
            Utterance.objects.all(), request_user(self.request), assistant="intent__assistant"
        )
        return rows.select_related("intent__assistant")

    def perform_update(self, serializer: BaseSerializer[Utterance]) -> None:
        utterance = cast(Utterance, serializer.instance)
        data = serializer.validated_data
        services.utterance_update(
            utterance=utterance,
            text=data.get("text", utterance.text),
            entities=data.get("entities", utterance.entities if "text" not in data else []),
        )

    def perform_destroy(self, instance: Utterance) -> None:
        services.utterance_delete(utterance=instance)


class EntitySerializer(AssistantOwned):
    assistant = serializers.PrimaryKeyRelatedField(queryset=Assistant.objects.none())
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    kind = serializers.ChoiceField(choices=EntityKind.choices, default=EntityKind.LIST)

    class Meta:
        model = Entity
        fields = [
            "id",
            "assistant",
            "name",
            "kind",
            "values",
            "pattern",
            "builtin",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["name"].read_only = True  # utterances and flows refer to it by name


@extend_schema_view(list=extend_schema(parameters=[ASSISTANT_FILTER]))
class EntityViewSet(viewsets.ModelViewSet[Entity]):
    """Entities of your assistants (``?assistant=ID``): lists with synonyms, regexes, built-ins.
    Deleting one that is in use (required by an intent, annotated, captured by a flow step) is
    refused with 400, naming each place."""

    serializer_class = EntitySerializer
    permission_classes = [WorkspaceRole]

    def get_queryset(self) -> QuerySet[Entity]:
        return of_assistant(
            self.request, member_rows(Entity.objects.all(), request_user(self.request))
        )

    def perform_create(self, serializer: BaseSerializer[Entity]) -> None:
        data = dict(serializer.validated_data)
        entity = services.entity_create(assistant=editable(data.pop("assistant")), **data)
        serializer.instance = self.get_queryset().get(pk=entity.pk)

    def perform_update(self, serializer: BaseSerializer[Entity]) -> None:
        services.entity_update(
            entity=cast(Entity, serializer.instance), **serializer.validated_data
        )

    def perform_destroy(self, instance: Entity) -> None:
        services.entity_delete(entity=instance)


class FlowSerializer(AssistantOwned):
    assistant = serializers.PrimaryKeyRelatedField(queryset=Assistant.objects.none())
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    graph = serializers.JSONField(help_text="Steps, connections and triggers; see flow_graph.")

    class Meta:
        model = Flow
        fields = ["id", "assistant", "name", "graph", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(parameters=[ASSISTANT_FILTER]))
class FlowViewSet(viewsets.ModelViewSet[Flow]):
    """Flows of your assistants (``?assistant=ID``); a graph with problems is refused whole."""

    serializer_class = FlowSerializer
    permission_classes = [WorkspaceRole]

    def get_queryset(self) -> QuerySet[Flow]:
        return of_assistant(
            self.request, member_rows(Flow.objects.all(), request_user(self.request))
        )

    def perform_create(self, serializer: BaseSerializer[Flow]) -> None:
        data = dict(serializer.validated_data)
        flow = services.flow_create(assistant=editable(data.pop("assistant")), **data)
        serializer.instance = self.get_queryset().get(pk=flow.pk)

    def perform_update(self, serializer: BaseSerializer[Flow]) -> None:
        services.flow_update(flow=cast(Flow, serializer.instance), **serializer.validated_data)

    def perform_destroy(self, instance: Flow) -> None:
        instance.delete()


class TrainingRunSerializer(serializers.ModelSerializer[TrainingRun]):
    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "stage",
            "progress",
            "model_version",
            "error",
            "metrics",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class TrainingView(APIView):
    """The assistant's latest NLU trainings; POST asks for one now."""

    @extend_schema(responses=TrainingRunSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        return Response(TrainingRunSerializer(assistant.training_runs.all()[:10], many=True).data)

    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        run = services.training_request(assistant=assistant)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ChecksView(APIView):
    """What in the assistant's NLU data is likely to hurt the model (checked before each
    training, never blocking it): too few utterances, duplicates, unknown or unused entities,
    intents no flow reaches, empty or very long utterances."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        return Response({"checks": [finding.as_dict() for finding in pretrain_checks(assistant)]})


class ParseRequestSerializer(serializers.Serializer[dict[str, Any]]):
    text = serializers.CharField(allow_blank=True, max_length=10_000, trim_whitespace=False)


class ParseView(APIView):
    """What the draft NLU model understands of one utterance (the test panel's view)."""

    @extend_schema(
        request=ParseRequestSerializer,
        responses={200: dict, 409: refusal("The assistant has no trained model yet.")},
    )
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        payload = ParseRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            model = registry().published_model(assistant.pk, "draft")
        except NotPublished:
            return Response(
                {"detail": "The assistant has no trained model yet: add intents and utterances."},
                status=status.HTTP_409_CONFLICT,
            )
        parsed = model.parse(payload.validated_data["text"], threshold=assistant.nlu_threshold)
        return Response(parsed.as_json())


class VersionSerializer(serializers.ModelSerializer[AssistantVersion]):
    published = serializers.SerializerMethodField()

    class Meta:
        model = AssistantVersion
        fields = ["id", "number", "notes", "nlu_version", "published", "created_at"]
        read_only_fields = fields

    def get_published(self, version: AssistantVersion) -> bool:
        return version.assistant.published_version_id == version.pk


class PublishSerializer(serializers.Serializer[dict[str, Any]]):
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class VersionsView(APIView):
    """Published versions, newest first; POST freezes the draft as a new one and serves it."""

    @extend_schema(responses=VersionSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk)
        versions = assistant.versions.select_related("assistant")
        return Response(VersionSerializer(versions, many=True).data)

    @extend_schema(request=PublishSerializer, responses={201: VersionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        payload = PublishSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        notes = payload.validated_data["notes"]
        version = services.assistant_publish(assistant=assistant, notes=notes)
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class RollbackView(APIView):
    """Serve an earlier version again."""

    @extend_schema(request=None, responses=VersionSerializer)
    def post(self, request: Request, pk: int, number: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        version = get_object_or_404(assistant.versions, number=number)
        services.assistant_rollback(assistant=assistant, version=version)
        version.assistant = assistant
        return Response(VersionSerializer(version).data)


EXPORT_ANSWER = (
    "The assistant's export as JSON; with ?download, as a file: a zip archive when its "
    "knowledge base holds files, else the JSON."
)


class ExportView(APIView):
    """The whole assistant as one JSON document, its knowledge base's files named but not held;
    ``?download=1`` for the file that holds them: a zip archive of that JSON (``assistant.json``)
    and the files (``documents/<name>``) when there are any, else the JSON."""

    @extend_schema(
        parameters=[OpenApiParameter("download", str, description="Any value: as a file.")],
        responses={
            (200, "application/json"): OpenApiResponse(dict, EXPORT_ANSWER),
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, EXPORT_ANSWER),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        assistant = member_assistant(request, pk)
        if not request.query_params.get("download"):
            return Response(services.assistant_export(assistant))
        export = services.assistant_export_file(assistant)
        response = HttpResponse(export.data, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class ImportSerializer(serializers.Serializer[dict[str, Any]]):
    workspace = serializers.PrimaryKeyRelatedField(queryset=Workspace.objects.none())
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)
    document = serializers.JSONField(required=False, help_text="An assistant export (JSON).")
    file = serializers.FileField(
        required=False, help_text="Or an export file: the zip archive with documents, or JSON."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["workspace"].queryset = Workspace.objects.for_member(request.user)  # type: ignore[attr-defined]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("document" in attrs) == ("file" in attrs):
            raise serializers.ValidationError("Send either a document or a file.")
        return attrs


class ImportView(APIView):
    """Create an assistant from an export (JSON, or a multipart upload of the export file); a
    document with errors creates nothing. The answer lists what did not come along."""

    @extend_schema(
        request={
            "application/json": ImportSerializer,
            "multipart/form-data": ImportSerializer,
        },
        responses={201: dict},
    )
    def post(self, request: Request) -> Response:
        payload = ImportSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        workspace = values["workspace"]
        if not can_edit(workspace.member_role):
            raise PermissionDenied("Viewers cannot create assistants.")
        if "file" in values:
            imported = services.assistant_import_file(
                workspace=workspace, upload=values["file"], name=values.get("name")
            )
        else:
            imported = services.assistant_import(
                workspace=workspace, document=values["document"], name=values.get("name")
            )
        return Response(
            {
                "id": imported.assistant.pk,
                "name": imported.assistant.name,
                "not_carried": imported.not_carried,
            },
            status=status.HTTP_201_CREATED,
        )


class NluFileSerializer(serializers.Serializer[dict[str, Any]]):
    format = serializers.ChoiceField(choices=["rasa", "csv"])
    content = serializers.CharField(help_text="The file's text.", trim_whitespace=False)


class NluTransferView(APIView):
    """NLU data in Rasa's YAML or CSV (text,intent): GET ``?kind=rasa|csv`` exports, POST
    imports and reports what was imported, skipped and why."""

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=["rasa", "csv"], description="Default: rasa.")
        ],
        responses={
            (200, "application/yaml"): OpenApiResponse(OpenApiTypes.OBJECT, "Rasa NLU YAML."),
            (200, "text/csv"): OpenApiResponse(str, "text,intent rows."),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        assistant = member_assistant(request, pk)
        if request.query_params.get("kind") == "csv":
            return HttpResponse(services.nlu_export_csv(assistant), content_type="text/csv")
        return HttpResponse(services.nlu_export_rasa(assistant), content_type="application/yaml")

    @extend_schema(request=NluFileSerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        assistant = member_assistant(request, pk, edit=True)
        payload = NluFileSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        content = payload.validated_data["content"]
        if payload.validated_data["format"] == "csv":
            report = services.nlu_import_csv(assistant=assistant, text=content)
        else:
            report = services.nlu_import_rasa(assistant=assistant, text=content)
        return Response(report.as_dict())
