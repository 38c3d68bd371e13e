"""An assistant's knowledge base: its documents, their chunks, and how it searches and answers."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import Assistant, Job

# Measured on benchmarks/kb (see BENCHMARKS.md): the defaults every new knowledge base gets.
DEFAULT_CHUNK_TOKENS = 160
DEFAULT_OVERLAP_TOKENS = 32
DEFAULT_TOP_K = 3
DEFAULT_MIN_SCORE = 0.35


class Fusion(models.TextChoices):
    RRF = "rrf", "Reciprocal rank fusion"
    WEIGHTED = "weighted", "Weighted scores"


class KnowledgeBase(models.Model):
    assistant = models.OneToOneField(
        Assistant, on_delete=models.CASCADE, related_name="knowledge_base"
    )
    chunk_tokens = models.PositiveSmallIntegerField(
        default=DEFAULT_CHUNK_TOKENS,
        validators=[MinValueValidator(32), MaxValueValidator(240)],
        help_text="Encoder tokens per chunk (its input is cut at 256, headings included).",
    )
    overlap_tokens = models.PositiveSmallIntegerField(
        default=DEFAULT_OVERLAP_TOKENS,
        validators=[MaxValueValidator(120)],
        help_text="Tokens of whole sentences that consecutive chunks share.",
    )
    top_k = models.PositiveSmallIntegerField(
        default=DEFAULT_TOP_K,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Passages given to the model for an answer.",
    )
    min_score = models.FloatField(
        default=DEFAULT_MIN_SCORE,
        validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="Passages less similar to the question than this are not used; with none left "
        "the assistant says it does not know.",
    )
    fusion = models.CharField(max_length=16, choices=Fusion.choices, default=Fusion.WEIGHTED)
    # Bumped whenever chunks change, so every process reloads its search index.
    revision = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"knowledge base of {self.assistant}"


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Document(models.Model):
    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="documents"
    )
    name = models.CharField(max_length=255)  # the file name, or the URL
    url = models.URLField(max_length=2000, blank=True)  # fetched from the web when set
    refresh_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Fetch the URL again every so many hours; empty: once."
    )
    format = models.CharField(max_length=16, blank=True)  # text, markdown, html, pdf, docx, csv
    content = models.BinaryField(editable=False, default=b"")  # the original bytes
    content_hash = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300, blank=True)
    tags = models.JSONField(default=list, blank=True)  # for metadata filters
    status = models.CharField(
        max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED
    )
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    # Bumped each time the chunks are replaced: a search index reloads only changed documents.
    stamp = models.PositiveIntegerField(default=0, editable=False)
    fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["knowledge_base", "name"], name="document_name_unique_in_knowledge_base"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DocumentReading(Job):
    """One reading of a document into chunks (after an upload, a link, a refresh or a new chunk
    size), run by ``core.jobs``; the document shows where its latest reading is."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="readings")

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"reading {self.pk} of {self.document} ({self.status})"


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="chunks"
    )
    position = models.PositiveIntegerField()
    heading = models.TextField(blank=True)
    text = models.TextField()
    tokens = models.PositiveSmallIntegerField()
    embedding = models.BinaryField()  # float32 unit vector from the in-house encoder

    class Meta:
        ordering = ["document", "position"]
        indexes = [models.Index(fields=["knowledge_base", "document"])]

    def __str__(self) -> str:
        return f"{self.document} #{self.position}"
