"""Serving conversations: open or resume one, run a turn, store every frame before it is sent.

Frames a turn produces are numbered and written in one transaction with the new dialog state,
then sent; a streamed answer's frames are written and sent as they come. A client that reconnects
says the last number it saw and gets exactly what it missed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from core.models import Assistant, Prompt, PromptVersion
from nlu.registry import NotPublished
from nlu.store import registry
from runtime.capabilities import AssistantCapabilities
from runtime.engine import Engine, State, Turn
from runtime.hybrid import Hybrid
from runtime.listings import listing_cached, listing_keep, listing_of
from runtime.models import Channel, Conversation, Feedback, Message, Rating, TurnRecord
from runtime.recent import Recent

Send = Callable[[dict[str, Any]], Awaitable[None]]
STREAMED = ("stream.start", "stream.chunk", "stream.end")
USER_FRAMES = ("user", "button")  # what the user said or clicked: stored, replayed on resume


class DialogUnavailable(Exception):
    """The assistant cannot chat (not published, not trained, no flow); the message says why."""


@dataclass
class Dialog:
    conversation_id: str
    engine: Engine
    state: State
    resumed: bool
    last_seq: int
    # A new conversation is inserted with its first frames (the greeting), not on its own.
    unsaved: Conversation | None = None


@dataclass(frozen=True)
class _Blueprint:
    """What an assistant's dialog engine is built from; each conversation gets its own engine
    (its capabilities collect that conversation's LLM calls)."""

    graph: dict[str, Any]
    required: dict[str, list[dict[str, str]]]
    prompts: dict[int, PromptVersion]
    knowledge_base_id: int | None
    hybrid: Hybrid | None
    threshold: float | None
    workspace_id: int


# Published blueprints, by assistant, version, last edit of the assistant and knowledge base:
# building one reads the version's snapshot and the prompts, several milliseconds for every
# conversation opened. Entries are also dropped after a minute (prompt models' prices change).
PUBLISHED: Recent[tuple[Any, ...], _Blueprint] = Recent(ttl_s=60.0, kept=256)


def engine_for(assistant: Assistant, *, draft: bool) -> Engine:
    """The dialog engine of the assistant's draft (the test panel, tests) or published version."""
    listing = listing_of(assistant)
    _model_check(assistant.pk, draft=draft)
    if draft:
        blueprint = _blueprint(assistant, draft=True, knowledge_base_id=listing.knowledge_base_id)
    else:
        blueprint = PUBLISHED.get(listing.published_key) or PUBLISHED.put(
            listing.published_key,
            _blueprint(assistant, draft=False, knowledge_base_id=listing.knowledge_base_id),
        )
    return _engine(blueprint, assistant.pk, draft=draft)


def _model_check(assistant_id: int, *, draft: bool) -> None:
    try:
        registry().published_model(assistant_id, "draft" if draft else "published")
    except NotPublished:
        refusal = "has no trained model yet" if draft else "is not published"
        raise DialogUnavailable(f"The assistant {refusal}.") from None


def _engine(blueprint: _Blueprint, assistant_id: int, *, draft: bool) -> Engine:
    models, channel = registry(), "draft" if draft else "published"
    capabilities = AssistantCapabilities(
        workspace_id=blueprint.workspace_id,
        assistant_id=assistant_id,
        nlu=lambda: models.published_model(assistant_id, channel),
        prompts=blueprint.prompts,
        knowledge_base_id=blueprint.knowledge_base_id,
        hybrid=blueprint.hybrid,
        threshold=blueprint.threshold,
    )
    return Engine(blueprint.graph, capabilities, required=blueprint.required)


def _blueprint(assistant: Assistant, *, draft: bool, knowledge_base_id: int | None) -> _Blueprint:
    if draft:
        flow = assistant.flows.order_by("id").first()
        if flow is None:
            raise DialogUnavailable("The assistant has no flow yet.")
        graph = flow.graph
        intents = list(assistant.intents.values("name", "description", "required_entities"))
    else:
        version = assistant.published_version
        if version is None or not version.snapshot.get("flows"):
            raise DialogUnavailable("The assistant is not published.")
        graph = version.snapshot["flows"][0]["graph"]
        intents = version.snapshot.get("intents", [])
    required = {i["name"]: i["required_entities"] for i in intents if i.get("required_entities")}
    # The draft runs each prompt's newest version; a published version the ones it was published
    # with (versions are numbered from 1, so the snapshot's count is the number in force).
    published = (
        None
        if draft or assistant.published_version is None
        else {
            prompt["id"]: len(prompt.get("versions") or [])
            for prompt in assistant.published_version.snapshot.get("prompts", [])
        }
    )
    prompts: dict[int, PromptVersion] = {}
    for prompt in Prompt.objects.filter(assistant=assistant).prefetch_related("versions__model"):
        versions = sorted(prompt.versions.all(), key=lambda v: v.number)
        if published is not None:
            versions = [v for v in versions if v.number <= published.get(prompt.pk, 0)]
        if versions:
            prompts[prompt.pk] = versions[-1]
    return _Blueprint(
        graph=graph,
        required=required,
        prompts=prompts,
        knowledge_base_id=knowledge_base_id,
        hybrid=Hybrid(
            assistant.hybrid_low,
            assistant.hybrid_high,
            {i["name"]: i.get("description", "") for i in intents},
        )
        if assistant.hybrid_enabled
        else None,
        threshold=assistant.nlu_threshold,
        workspace_id=assistant.workspace_id,
    )


async def dialog_open(
    *,
    assistant_id: int,
    channel: str,
    end_user: str,
    conversation_id: str | None = None,
) -> Dialog:
    """Resume the conversation if it is this user's, else start a new one (not yet begun)."""
    if channel != Channel.TEST and not conversation_id:
        # A new visitor of an assistant seen a moment ago: no database work until the greeting.
        listing = listing_cached(assistant_id)
        blueprint = PUBLISHED.get(listing.published_key) if listing is not None else None
        if listing is not None and blueprint is not None:
            _model_check(assistant_id, draft=False)
            engine = _engine(blueprint, assistant_id, draft=False)
            version_id = listing.published_version_id
            return _dialog_new(engine, assistant_id, version_id, channel, end_user)
    return await _dialog_open(assistant_id, channel, end_user, conversation_id)


@database_sync_to_async
def _dialog_open(
    assistant_id: int, channel: str, end_user: str, conversation_id: str | None
) -> Dialog:
    # The snapshot is read only when the published engine is not cached (deferred, it loads then).
    assistant = (
        Assistant.objects.select_related("published_version", "knowledge_base")
        .defer("published_version__snapshot")
        .get(pk=assistant_id)
    )
    listing_keep(listing_of(assistant))
    draft = channel == Channel.TEST
    engine = engine_for(assistant, draft=draft)
    conversation = None
    if conversation_id:
        conversation = Conversation.objects.filter(
            pk=conversation_id, assistant=assistant, end_user=end_user, channel=channel
        ).first()
    if conversation is not None:
        state = State.from_dict(conversation.state)
        return Dialog(str(conversation.pk), engine, state, True, conversation.last_seq)
    version_id = None if draft else assistant.published_version_id
    return _dialog_new(engine, assistant.pk, version_id, channel, end_user)


def _dialog_new(
    engine: Engine, assistant_id: int, version_id: int | None, channel: str, end_user: str
) -> Dialog:
    """A conversation not begun: its row is inserted with the greeting."""
    conversation = Conversation(
        assistant_id=assistant_id, version_id=version_id, channel=channel, end_user=end_user[:64]
    )
    return Dialog(str(conversation.pk), engine, State(), False, 0, unsaved=conversation)


@database_sync_to_async
def messages_after(conversation_id: str, seq: int) -> list[dict[str, Any]]:
    """Every stored frame numbered above ``seq``, in order: what a reconnecting client missed."""
    rows = Message.objects.filter(conversation_id=conversation_id, seq__gt=seq).order_by("seq")
    return [{"seq": row.seq, **row.payload} for row in rows]


@dataclass
class _Frames:
    """Frames of one turn, written before they are sent."""

    dialog: Dialog
    send: Send
    pending: list[tuple[bool, dict[str, Any]]] = field(default_factory=list)
    first_seq: int | None = None  # of the turn's first frame: its transcript record's number

    async def emit(self, payload: dict[str, Any]) -> None:
        self.pending.append((False, payload))
        if payload["type"] in STREAMED:
            await self.flush()  # a streamed chunk goes out now, stored first like any frame

    async def flush(
        self, turn: Turn | None = None, user_text: str = "", started: float = 0.0
    ) -> None:
        if not self.pending and turn is None:
            return
        frames, self.pending = self.pending, []
        if turn is not None:
            turn.llm = self.dialog.engine.capabilities.llm_calls_take()
        stored = await _store(self.dialog, frames, turn, user_text, started, self.first_seq)
        if stored and self.first_seq is None:
            self.first_seq = stored[0]["seq"]
        for payload in stored:
            if payload["type"] not in USER_FRAMES:  # the user's own words are stored, not echoed
                await self.send(payload)


@database_sync_to_async
def _store(
    dialog: Dialog,
    frames: list[tuple[bool, dict[str, Any]]],
    turn: Turn | None,
    user_text: str,
    started: float,
    first_seq: int | None,
) -> list[dict[str, Any]]:
    with transaction.atomic():
        seq = _claim(dialog, len(frames), dialog.state.as_dict() if turn is not None else None)
        rows = [
            Message(
                conversation_id=dialog.conversation_id,
                seq=number,
                from_user=from_user,
                payload=payload,
            )
            for number, (from_user, payload) in enumerate(frames, start=seq - len(frames) + 1)
        ]
        Message.objects.bulk_create(rows)
        if turn is not None:
            # The turn's first frame (the user's message, or the greeting): a streamed answer
            # stored its first frames before the turn ended.
            first = first_seq if first_seq is not None else (rows[0].seq if rows else seq)
            record = TurnRecord(
                conversation_id=dialog.conversation_id,
                seq=first,
                text=user_text,
                intent=turn.intent or "",
                confidence=turn.confidence,
                path=turn.path,
                entities=turn.entities,
                ranking=turn.ranking,
                steps=turn.steps,
                errors=turn.errors,
                knowledge=turn.knowledge,
                decided_by=turn.decided_by,
                llm=turn.llm,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                nlu_ms=turn.nlu_ms,
            )
            TurnRecord.objects.bulk_create([record])
    dialog.last_seq, dialog.unsaved = seq, None
    return [{"seq": row.seq, **row.payload} for row in rows]


def _claim(dialog: Dialog, count: int, state: dict[str, Any] | None) -> int:
    """Number the next ``count`` frames (and store the new state): the last number claimed.

    One INSERT for a new conversation; else one UPDATE, on condition that nobody wrote since
    this socket last did; it also locks the row until the transaction ends. Another socket on
    the same conversation (a second tab) makes the condition fail: then the row is locked and
    read first.
    """
    if dialog.unsaved is not None:  # its first frames: the conversation row comes with them
        dialog.unsaved.last_seq, dialog.unsaved.state = count, state or {}
        Conversation.objects.bulk_create([dialog.unsaved])
        return count
    changes: dict[str, Any] = {"updated_at": timezone.now()}
    if state is not None:
        changes["state"] = state
    conversations = Conversation.objects.filter(pk=dialog.conversation_id)
    seq = dialog.last_seq + count
    if conversations.filter(last_seq=dialog.last_seq).update(last_seq=seq, **changes):
        return seq
    current = conversations.select_for_update().values_list("last_seq", flat=True).get()
    seq = current + count
    conversations.update(last_seq=seq, **changes)
    return seq


async def dialog_start(dialog: Dialog, send: Send) -> Turn:
    started = time.perf_counter()
    frames = _Frames(dialog, send)
    turn = await dialog.engine.start(dialog.state, frames.emit)
    await frames.flush(turn, "", started)
    return turn


async def dialog_hear(dialog: Dialog, text: str, send: Send) -> Turn:
    started = time.perf_counter()
    frames = _Frames(dialog, send)
    frames.pending.append((True, {"type": "user", "text": text}))
    turn = await dialog.engine.hear(text, dialog.state, frames.emit)
    await frames.flush(turn, text, started)
    return turn


async def dialog_click(dialog: Dialog, index: int, send: Send) -> Turn:
    started = time.perf_counter()
    frames = _Frames(dialog, send)
    label = dialog.engine.button_label(dialog.state, index)
    frames.pending.append((True, {"type": "button", "index": index, "label": label}))
    turn = await dialog.engine.click(index, dialog.state, frames.emit)
    await frames.flush(turn, label, started)
    return turn


MAX_TEXT_CHARS = 2_000  # an end user's message; longer ones are refused, not cut


class MessageRefused(ValueError):
    """An end user's message the dialog cannot take; ``code`` names why (the chat protocol's
    error codes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def message_check(*, text: object = None, button: object = None) -> None:
    """Refuse (``MessageRefused``) a text that is empty or too long, or, when no text is given, a
    button that is not an index; the websocket and the HTTP API say the same."""
    if text is None:
        if not isinstance(button, int) or isinstance(button, bool) or button < 0:
            raise MessageRefused("invalid", "A button click needs the button's index.")
        return
    if not isinstance(text, str) or not text.strip():
        raise MessageRefused("invalid", "A text message needs non-empty text.")
    if len(text) > MAX_TEXT_CHARS:
        raise MessageRefused("too_large", f"Messages have at most {MAX_TEXT_CHARS} characters.")


async def dialog_begin(dialog: Dialog, send: Send, *, last_seq: int | None = None) -> Turn | None:
    """What opening a chat sends: a new conversation's greeting (its first turn), or, for a
    resumed one, every frame after ``last_seq`` (the user's own too, so a reloaded page redraws
    the whole conversation); ``last_seq`` None replays nothing."""
    if not dialog.resumed:
        return await dialog_start(dialog, send)
    if last_seq is not None:
        for frame in await messages_after(dialog.conversation_id, last_seq):
            await send(frame)
    return None


async def dialog_say(
    dialog: Dialog, send: Send, *, text: str | None = None, button: int | None = None
) -> Turn | None:
    """The end user's message, checked (``message_check``): ``text`` heard through the NLU, or
    else the button at index ``button`` clicked; nothing when neither is given."""
    if text is not None:
        message_check(text=text)
        return await dialog_hear(dialog, text, send)
    if button is None:
        return None
    message_check(button=button)
    return await dialog_click(dialog, button, send)


class FeedbackRefused(ValueError):
    """The rating names no message of the assistant in this conversation, or no rating."""


MAX_COMMENT = 500


def feedback_record(conversation_id: str, seq: Any, rating: Any, comment: Any = "") -> Feedback:
    """The end user's thumbs up or down on one of the assistant's messages (rating it again
    replaces the rating); thumbs-down on generated replies become backtests of their prompt."""
    if rating not in Rating.values:
        raise FeedbackRefused(f"A rating is one of: {', '.join(Rating.values)}.")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise FeedbackRefused("Say which message: its seq number.")
    if not isinstance(comment, str):
        raise FeedbackRefused("A comment is text.")
    rated = Message.objects.filter(conversation_id=conversation_id, seq=seq, from_user=False)
    if not rated.exists():
        raise FeedbackRefused(f"No message #{seq} of the assistant in this conversation.")
    feedback, _ = Feedback.objects.update_or_create(
        conversation_id=conversation_id,
        seq=seq,
        defaults={"rating": rating, "comment": " ".join(comment.split())[:MAX_COMMENT]},
    )
    return feedback


feedback_give = database_sync_to_async(feedback_record)
