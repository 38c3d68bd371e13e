"""Transcripts: conversations found by what was said, and each read back as lines with the way
every user turn was understood."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from core.models import Assistant
from runtime.models import Conversation, TurnRecord


def conversations_find(
    assistant: Assistant, *, text: str = "", channel: str = "", path: str = ""
) -> QuerySet[Conversation]:
    """The assistant's conversations, newest first: ``text`` in any message or the end user's id,
    on one ``channel``, or with a turn decided by ``path`` (say, ``fallback``)."""
    rows = assistant.conversations.all()
    if text.strip():
        said = Q(messages__payload__text__icontains=text.strip())
        rows = rows.filter(said | Q(end_user__icontains=text.strip()))
    if channel:
        rows = rows.filter(channel=channel)
    if path:
        rows = rows.filter(turns__path=path)
    ids = rows.values("pk").distinct()
    return (
        Conversation.objects.filter(pk__in=ids)
        .annotate(turn_count=Count("turns", distinct=True))
        .order_by("-updated_at")
    )


@dataclass
class Line:
    seq: int
    who: str  # user, bot, event
    text: str
    at: datetime
    buttons: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True
    button: bool = False  # the user clicked a button (``text`` is its label in brackets)
    streamed: bool = False  # generated text, streamed as it came
    turn: TurnRecord | None = None

    def as_dict(self) -> dict[str, Any]:
        turn = self.turn
        return {
            "seq": self.seq,
            "who": self.who,
            "text": self.text,
            "at": self.at.isoformat(),
            "buttons": self.buttons,
            "sources": self.sources,
            "complete": self.complete,
            "turn": None
            if turn is None
            else {
                "intent": turn.intent or None,
                "confidence": round(turn.confidence, 4),
                "path": turn.path,
                "entities": turn.entities,
                "ranking": turn.ranking,
                "steps": turn.steps,
                "errors": turn.errors,
                "knowledge": turn.knowledge,
                "decided_by": turn.decided_by,
                "llm": turn.llm,
                "latency_ms": turn.latency_ms,
                "nlu_ms": turn.nlu_ms,
            },
        }


_EVENTS = {"handoff": "Handed over to a person", "end": "The conversation ended"}


def transcript(conversation: Conversation) -> list[Line]:
    """Every message as a line; a streamed answer is one line with its final text."""
    turns = {turn.seq: turn for turn in conversation.turns.all()}
    lines: list[Line] = []
    streaming: Line | None = None
    for message in conversation.messages.order_by("seq"):
        payload, kind = message.payload, message.payload.get("type")
        if kind in ("user", "button"):
            text = payload.get("text") if kind == "user" else f"[{payload.get('label', '')}]"
            lines.append(
                Line(
                    message.seq,
                    "user",
                    str(text or ""),
                    message.created_at,
                    button=kind == "button",
                    turn=turns.get(message.seq),
                )
            )
        elif kind == "text":
            buttons = [str(b.get("label", "")) for b in payload.get("buttons") or []]
            lines.append(
                Line(message.seq, "bot", payload.get("text", ""), message.created_at, buttons)
            )
        elif kind == "stream.start":
            streaming = Line(message.seq, "bot", "", message.created_at, streamed=True)
            lines.append(streaming)
        elif kind == "stream.chunk" and streaming is not None:
            streaming.text += payload.get("text", "")
        elif kind == "stream.end" and streaming is not None:
            streaming.text = payload.get("text") or streaming.text
            streaming.sources = payload.get("sources") or []
            streaming.complete = bool(payload.get("complete", True))
            streaming = None
        elif kind in _EVENTS:
            lines.append(Line(message.seq, "event", _EVENTS[kind], message.created_at))
    return lines
