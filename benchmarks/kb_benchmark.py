"""Retrieval and "not found" quality of a knowledge base on a document collection.

Used by ``manage.py kb_benchmark``. Every file of a folder goes through the product's own upload
and ingestion into a fresh knowledge base (of a throwaway workspace, deleted afterwards); each
question is searched in each mode. A question is a hit at k when one of the top-k passages
contains one of its answer strings (case-insensitive); a question with no answers is one the
documents do not answer, and the full answer path (retrieval, threshold, the model) should say
"not found". The report's keys are a fixed interface (see the issue and BENCHMARKS.md).
"""

from __future__ import annotations

import json
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from huey.contrib.djhuey import HUEY

from core.models import Assistant, Role, Workspace
from knowledge.answering import kb_answer
from knowledge.chunking import indexed_text
from knowledge.index import MODES, Fusion, SearchIndex
from knowledge.models import DocumentStatus, KnowledgeBase
from knowledge.search import kb_search, search_index
from knowledge.services import document_upload, knowledge_base_of, knowledge_base_update
from nlu.store import encoder_load

RANKS = 10  # passages looked at per question (MRR is over these)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Question:
    question: str
    answers: list[str]


def questions_read(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(str(row["question"]), [str(a) for a in row["answers"]]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a question line ({error})") from error
    return questions


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0}
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
    }


def _rank(texts: list[str], answers: list[str]) -> int | None:
    """1-based rank of the first passage holding an answer string."""
    wanted = [answer.lower() for answer in answers]
    for rank, text in enumerate(texts, start=1):
        lowered = text.lower()
        if any(answer in lowered for answer in wanted):
            return rank
    return None


def _scores(ranks: list[int | None]) -> dict[str, float]:
    count = max(1, len(ranks))
    return {
        "recall_at_1": round(sum(1 for r in ranks if r is not None and r <= 1) / count, 4),
        "recall_at_3": round(sum(1 for r in ranks if r is not None and r <= 3) / count, 4),
        "recall_at_5": round(sum(1 for r in ranks if r is not None and r <= 5) / count, 4),
        "mrr": round(sum(1 / r for r in ranks if r is not None) / count, 4),
    }


def kb_benchmark(
    docs: Path,
    questions_file: Path,
    *,
    settings: dict[str, Any] | None = None,
    scales: tuple[int, ...] = (10_000, 100_000),
    answer_all: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    progress = progress or (lambda stage, done, total: None)
    questions = questions_read(questions_file)
    files = sorted(
        path for path in docs.iterdir() if path.is_file() and not path.name.startswith(".")
    )
    user = User.objects.create_user(f"kb-benchmark-{uuid.uuid4().hex[:12]}")
    workspace = Workspace.objects.create(name="kb benchmark")
    workspace.memberships.create(user=user, role=Role.OWNER)
    assistant = Assistant.objects.create(workspace=workspace, name="kb benchmark")
    immediate = HUEY.immediate
    try:
        kb = knowledge_base_of(assistant)
        if settings:
            knowledge_base_update(kb, **settings)
        encoder_load()  # exported and loaded before the clock starts
        HUEY.immediate = True  # each document is read as its upload commits
        started = time.perf_counter()
        rejected: dict[str, str] = {}
        for done, path in enumerate(files, start=1):
            try:
                document_upload(kb, name=path.name, data=path.read_bytes())
            except ValidationError as error:
                rejected[path.name] = " ".join(error.messages)
            progress("ingest", done, len(files))
        ingest_seconds = time.perf_counter() - started
        kb.refresh_from_db()
        failed = {
            d.name: d.error for d in kb.documents.filter(status=DocumentStatus.FAILED)
        } | rejected
        report = _evaluate(kb, questions, answer_all=answer_all, progress=progress)
        report = {
            "documents": len(files),
            "documents_failed": failed,
            "chunks": kb.chunks.count(),
            "ingest_seconds": round(ingest_seconds, 2),
            "settings": {
                "chunk_tokens": kb.chunk_tokens,
                "overlap_tokens": kb.overlap_tokens,
                "top_k": kb.top_k,
                "min_score": kb.min_score,
                "fusion": kb.fusion,
            },
            **report,
        }
        report["scale"] = {str(n): _scale(kb, questions, n) for n in scales}
    finally:
        HUEY.immediate = immediate
        workspace.delete()
        user.delete()
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def _evaluate(
    kb: KnowledgeBase, questions: list[Question], *, answer_all: bool, progress: Progress
) -> dict[str, Any]:
    answerable = [q for q in questions if q.answers]
    unanswerable = [q for q in questions if not q.answers]
    search_index(kb)  # loaded before timing
    report: dict[str, Any] = {"questions": len(questions), "answerable": len(answerable)}
    variants: list[tuple[str, str, str]] = [(mode, mode, kb.fusion) for mode in MODES]
    variants += [("hybrid_rrf", "hybrid", "rrf"), ("hybrid_weighted", "hybrid", "weighted")]
    fusion = kb.fusion
    for name, mode, variant_fusion in variants:
        kb.fusion = variant_fusion
        ranks, latencies = [], []
        for question in answerable:
            retrieval = kb_search(kb, question.question, k=RANKS, mode=mode)  # type: ignore[arg-type]
            latencies.append(retrieval.latency_ms)
            ranks.append(_rank([p.text for p in retrieval.passages], question.answers))
        report[name] = _scores(ranks) | {"retrieval_latency_ms": _percentiles(latencies)}
        progress(f"search {name}", 1, 1)
    kb.fusion = fusion
    # The threshold alone: how often an answerable question would find no passage above it.
    gated = sum(
        1 for q in answerable if not kb_search(kb, q.question, min_score=kb.min_score).passages
    )
    report["answerable_below_threshold"] = round(gated / max(1, len(answerable)), 4)
    not_found = 0
    for done, question in enumerate(unanswerable, start=1):
        not_found += not kb_answer(kb, question.question).found
        progress("answer (no-answer questions)", done, len(unanswerable))
    report["no_answer_precision"] = (
        round(not_found / len(unanswerable), 4) if unanswerable else None
    )
    if answer_all:
        answered = 0
        for done, question in enumerate(answerable, start=1):
            answer = kb_answer(kb, question.question)
            answered += answer.found
            progress("answer (answerable questions)", done, len(answerable))
        report["answerable_answered"] = round(answered / max(1, len(answerable)), 4)
    return report


def _scale(kb: KnowledgeBase, questions: list[Question], size: int) -> dict[str, Any]:
    """Search latency with the collection's chunks repeated to ``size`` (vectors jittered so no
    two are equal, a word of noise added to each text so BM25's statistics stay realistic)."""
    loaded = search_index(kb)
    base_texts = [
        indexed_text(entry.title, heading, text)
        for entry in loaded.documents.values()
        for heading, text in zip(entry.headings, entry.texts, strict=True)
    ]
    base_vectors = loaded.index.vectors
    if not base_texts:
        return {}
    rng = np.random.default_rng(0)
    repeats = -(-size // len(base_texts))
    texts = [f"{text} copy{i}" for i in range(repeats) for text in base_texts][:size]
    vectors = np.tile(base_vectors, (repeats, 1))[:size]
    vectors = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    index = SearchIndex(texts, vectors)
    build_seconds = time.perf_counter() - started
    encoder = encoder_load()
    latencies: list[float] = []
    for question in questions:
        begun = time.perf_counter()
        vector = encoder.embed_one(question.question)
        index.search(
            question.question, vector, k=kb.top_k, mode="hybrid", fusion=cast(Fusion, kb.fusion)
        )
        latencies.append((time.perf_counter() - begun) * 1000)
    return {
        "chunks": size,
        "index_build_seconds": round(build_seconds, 2),
        "retrieval_latency_ms": _percentiles(latencies),
    }
