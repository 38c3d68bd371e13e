"""Searching a knowledge base: each process keeps a search index per knowledge base in memory.

The index follows the knowledge base's ``revision``: when it moved, only documents whose ``stamp``
changed are read again from the database (their stored vectors; nothing is re-embedded), deleted
ones are dropped, and the BM25 and vector index are rebuilt from what is held.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from knowledge.chunking import indexed_text
from knowledge.index import Fusion, Mode, SearchIndex
from knowledge.models import Chunk, Document, KnowledgeBase
from nlu.store import encoder_load


@dataclass(frozen=True)
class Passage:
    chunk: int
    document: int
    document_name: str
    title: str
    heading: str
    text: str
    url: str
    score: float
    relevance: float
    bm25: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk,
            "document": self.document,
            "document_name": self.document_name,
            "title": self.title,
            "heading": self.heading,
            "text": self.text,
            "url": self.url,
            "score": round(self.score, 4),
            "relevance": round(self.relevance, 4),
            "bm25": round(self.bm25, 4),
        }


@dataclass
class _DocumentRows:
    stamp: int
    name: str
    title: str
    url: str
    tags: frozenset[str]
    chunk_ids: list[int]
    headings: list[str]
    texts: list[str]
    vectors: np.ndarray


@dataclass
class _Loaded:
    revision: int
    documents: dict[int, _DocumentRows]
    index: SearchIndex
    rows: list[tuple[int, int]] = field(default_factory=list)  # (document id, row in document)


MAX_INDEXES = 64  # knowledge bases a process keeps in memory; the least recently used go first

_indexes: OrderedDict[int, _Loaded] = OrderedDict()
_lock = threading.Lock()


def search_index(kb: KnowledgeBase) -> _Loaded:
    """The knowledge base's index as of ``kb.revision`` (the caller reads ``kb`` fresh)."""
    with _lock:
        held = _indexes.get(kb.pk)
        if held is not None and held.revision == kb.revision:
            _indexes.move_to_end(kb.pk)
            return held
    # Loaded outside the lock, so other knowledge bases are not held up meanwhile.
    loaded = _load(kb, held)
    with _lock:
        _indexes[kb.pk] = loaded
        _indexes.move_to_end(kb.pk)
        while len(_indexes) > MAX_INDEXES:
            _indexes.popitem(last=False)
    return loaded


def _load(kb: KnowledgeBase, previous: _Loaded | None) -> _Loaded:
    held = previous.documents if previous is not None else {}
    documents: dict[int, _DocumentRows] = {}
    current = Document.objects.filter(knowledge_base=kb, chunk_count__gt=0).values_list(
        "id", "stamp", "name", "title", "url", "tags"
    )
    stale: dict[int, _DocumentRows] = {}
    for doc_id, stamp, name, title, url, tags in current:
        tags_set = frozenset(str(tag) for tag in tags or [])
        kept = held.get(doc_id)
        if kept is not None and kept.stamp == stamp:
            kept.tags, kept.name, kept.title, kept.url = tags_set, name, title, url
            documents[doc_id] = kept
        else:
            stale[doc_id] = _DocumentRows(
                stamp, name, title, url, tags_set, [], [], [], np.zeros((0, 0))
            )
    if stale:
        vectors: dict[int, list[np.ndarray]] = {doc_id: [] for doc_id in stale}
        rows = Chunk.objects.filter(document_id__in=list(stale)).order_by("document_id", "position")
        for chunk_id, doc_id, heading, text, embedding in rows.values_list(
            "id", "document_id", "heading", "text", "embedding"
        ):
            entry = stale[doc_id]
            entry.chunk_ids.append(chunk_id)
            entry.headings.append(heading)
            entry.texts.append(text)
            vectors[doc_id].append(np.frombuffer(bytes(embedding), dtype=np.float32))
        for doc_id, entry in stale.items():
            if vectors[doc_id]:
                entry.vectors = np.vstack(vectors[doc_id])
                documents[doc_id] = entry
    order = sorted(documents)
    texts: list[str] = []
    matrices: list[np.ndarray] = []
    rows_index: list[tuple[int, int]] = []
    for doc_id in order:
        entry = documents[doc_id]
        for position, (heading, text) in enumerate(zip(entry.headings, entry.texts, strict=True)):
            texts.append(indexed_text(entry.title, heading, text))
            rows_index.append((doc_id, position))
        matrices.append(entry.vectors)
    dimensions = encoder_load().dimensions
    matrix = np.vstack(matrices) if matrices else np.zeros((0, dimensions), dtype=np.float32)
    index = SearchIndex(texts, matrix, language=kb.assistant.language)
    return _Loaded(kb.revision, documents, index, rows_index)


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    latency_ms: float


def kb_search(
    kb: KnowledgeBase,
    question: str,
    *,
    k: int | None = None,
    mode: Mode = "hybrid",
    tags: list[str] | None = None,
    min_score: float | None = None,
) -> Retrieval:
    """The best passages for ``question``; those below ``min_score`` relevance are left out."""
    started = time.perf_counter()
    loaded = search_index(kb)
    allowed = None
    if tags:
        wanted = set(tags)
        allowed = np.asarray(
            [bool(wanted & loaded.documents[doc_id].tags) for doc_id, _ in loaded.rows], dtype=bool
        )
    vector = encoder_load().embed_one(question)
    hits = loaded.index.search(
        question,
        vector,
        k=k or kb.top_k,
        mode=mode,
        fusion=cast(Fusion, kb.fusion),
        allowed=allowed,
    )
    passages = []
    for hit in hits:
        if min_score is not None and hit.relevance < min_score:
            continue
        doc_id, position = loaded.rows[hit.row]
        entry = loaded.documents[doc_id]
        passages.append(
            Passage(
                chunk=entry.chunk_ids[position],
                document=doc_id,
                document_name=entry.name,
                title=entry.title,
                heading=entry.headings[position],
                text=entry.texts[position],
                url=entry.url,
                score=hit.score,
                relevance=hit.relevance,
                bm25=hit.bm25,
            )
        )
    return Retrieval(passages, (time.perf_counter() - started) * 1000)
