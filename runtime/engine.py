"""The dialog engine: walks a flow graph (see ``runtime.flow_graph``) one user turn at a time.

The engine holds no I/O of its own. It is given the flow, the session's state and
``Capabilities`` that understand text (the NLU), generate text (the LLM gateway) and call APIs; it
sends each bot message through ``emit`` as soon as it exists, so a streamed answer starts at once.

For each user turn the understanding order is: a button of the waiting step, what a capture step
is waiting for, the step's own intents, the global intent triggers, the step's no-match path, the
knowledge base (when the assistant has one and it finds an answer), then a global no-match reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.flow_graph import PLACEHOLDER, waits_for_user

MAX_STEPS_PER_TURN = 50  # a validated flow never gets near; a guard, not a rule
DEFAULT_NO_MATCH = "Sorry, I didn't understand that. Could you say it another way?"


@dataclass
class State:
    """What a conversation needs to carry on: stored after every turn."""

    step: str | None = None  # the step waiting for the user; None before the first turn
    variables: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0  # re-prompts used at the waiting capture step
    ended: bool = False
    # An intent that triggered while its required entities were missing: {"intent", "target"}
    pending: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "variables": self.variables,
            "attempts": self.attempts,
            "ended": self.ended,
            "pending": self.pending,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> State:
        data = data or {}
        return cls(
            step=data.get("step"),
            variables=dict(data.get("variables") or {}),
            attempts=int(data.get("attempts") or 0),
            ended=bool(data.get("ended")),
            pending=data.get("pending"),
        )


@dataclass(frozen=True)
class Understanding:
    intent: str | None
    confidence: float
    entities: list[dict[str, Any]]  # {"entity", "value", "text", "start", "end"}
    ranking: list[dict[str, Any]] = field(default_factory=list)
    decided_by: str = "nlu"  # nlu, llm, or "nlu (llm failed: …)" in the hybrid mode
    nlu_ms: float = 0.0  # the in-house NLU's own time (the hybrid's LLM call not included)


@dataclass
class Turn:
    """What happened in one turn, for the transcript and the test panel."""

    # start, button, capture, step-intent, global-intent, no-match, knowledge, fallback
    path: str = ""
    intent: str | None = None
    confidence: float = 0.0
    entities: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    handoff: bool = False
    errors: list[str] = field(default_factory=list)
    decided_by: str = ""  # who chose the intent: nlu or llm (hybrid mode)
    llm: list[dict[str, Any]] = field(default_factory=list)  # LLM calls of the turn (usage)
    knowledge: dict[str, Any] | None = None  # what the knowledge base found, when it was asked
    nlu_ms: float | None = None  # the in-house NLU's time, on turns it understood


@dataclass(frozen=True)
class Knowledge:
    """What the knowledge base made of a question, after the text it streamed (if any)."""

    found: bool
    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # False: the answer broke off part-way
    reason: str = ""  # why nothing was found


Emit = Callable[[dict[str, Any]], Awaitable[None]]


class Capabilities(Protocol):
    async def understand(self, text: str) -> Understanding: ...

    def generate(self, prompt_id: int, variables: dict[str, Any]) -> AsyncIterator[str]:
        """Text chunks; raises ``StepFailed`` when nothing could be generated."""
        ...

    def structured(self, prompt_id: int) -> bool:
        """Whether the prompt's reply is a JSON object (it has an output schema)."""
        ...

    async def extract(self, prompt_id: int, variables: dict[str, Any]) -> dict[str, Any]:
        """The prompt's reply as an object valid for its output schema; raises ``StepFailed``
        when no valid one came back (the gateway repairs and re-asks first)."""
        ...

    async def call_api(self, step: dict[str, Any], variables: dict[str, Any]) -> Any:
        """The JSON answer of an API-call step; raises ``StepFailed`` on any failure."""
        ...

    def knowledge(self, question: str, tags: list[str] | None) -> AsyncIterator[str | Knowledge]:
        """An answer from the knowledge base: text chunks, then one ``Knowledge``."""
        ...

    def llm_calls_take(self) -> list[dict[str, Any]]:
        """The LLM calls made since the last take: purpose, model, tokens, cost, request id."""
        ...


class StepFailed(Exception):
    """A step's outside service failed; the flow takes the step's failure path."""


def text_message(text: str, buttons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "text", "text": text, "buttons": buttons or []}


def render(template: str, variables: dict[str, Any]) -> str:
    """``{{name}}`` placeholders filled with the variables' values (unset ones with nothing)."""

    def value(match: re.Match[str]) -> str:
        found = variables.get(match.group(1))
        return "" if found is None else str(found)

    return PLACEHOLDER.sub(value, template)


class Engine:
    def __init__(
        self,
        graph: dict[str, Any],
        capabilities: Capabilities,
        *,
        required: dict[str, list[dict[str, str]]] | None = None,
        no_match_reply: str = DEFAULT_NO_MATCH,
    ) -> None:
        self.graph = graph
        self.steps = {step["id"]: step for step in graph.get("steps", [])}
        self.triggers = [t for t in graph.get("triggers") or [] if isinstance(t, dict)]
        self.capabilities = capabilities
        # Per intent, the entities it needs before its step runs, each with how to ask for it.
        self.required = required or {}
        self.no_match_reply = no_match_reply

    # --- entry points ---------------------------------------------------------------------
    async def start(self, state: State, emit: Emit) -> Turn:
        """Begin the conversation: run from the start step to the first wait."""
        turn = Turn(path="start")
        state.step, state.attempts, state.ended = None, 0, False
        await self._walk(self.graph.get("start"), state, turn, emit)
        return turn

    async def hear(self, text: str, state: State, emit: Emit) -> Turn:
        """One user message; the state is updated in place."""
        understood = await self.capabilities.understand(text)
        turn = Turn(
            intent=understood.intent,
            confidence=understood.confidence,
            entities=understood.entities,
            ranking=understood.ranking,
            decided_by=understood.decided_by,
            nlu_ms=understood.nlu_ms,
        )
        state.variables["last_utterance"] = text
        state.variables["intent"] = understood.intent or ""
        state.variables["confidence"] = round(understood.confidence, 4)
        if state.pending is not None:
            return await self._fill_required(understood, state, turn, emit)
        waiting = self.steps.get(state.step or "")
        if waiting is None or state.ended:
            target = self._global_trigger(understood)
            state.ended = False
            if target is None:
                turn.path = "start"
                await self._walk(self.graph.get("start"), state, turn, emit)
            else:
                turn.path = "global-intent"
                await self._jump(target, understood, state, turn, emit)
            return turn
        for button in waiting.get("buttons") or []:
            label = str(button.get("label", "")).strip().lower()
            if label and text.strip().lower() in (label, str(button.get("value", "")).lower()):
                return await self._button(button, state, turn, emit)
        if waiting.get("type") == "capture" and self._capture(waiting, text, understood, state):
            turn.path = "capture"
            await self._walk(waiting.get("next"), state, turn, emit)
            return turn
        target = self._step_intent(waiting, understood)
        path = "step-intent"
        if target is None:
            target, path = self._global_trigger(understood), "global-intent"
        if target is not None:
            turn.path = path
            await self._jump(target, understood, state, turn, emit)
            return turn
        return await self._no_match(waiting, state, turn, emit)

    async def _jump(
        self, target: str, understood: Understanding, state: State, turn: Turn, emit: Emit
    ) -> None:
        """Go where a recognised intent leads, once the entities it requires are known."""
        self._remember_entities(understood, state)
        missing = self._missing(understood.intent, state)
        if missing:
            filled = [found["entity"] for found in understood.entities]
            state.pending = {
                "intent": understood.intent,
                "target": target,
                "attempts": 0,
                "filled": filled,
            }
            await emit(text_message(render(missing[0]["prompt"], state.variables)))
            return
        await self._walk(target, state, turn, emit)

    def _missing(self, intent: str | None, state: State) -> list[dict[str, str]]:
        return [
            need
            for need in self.required.get(intent or "", [])
            if state.variables.get(need["entity"]) in (None, "")
        ]

    async def _fill_required(
        self, understood: Understanding, state: State, turn: Turn, emit: Emit
    ) -> Turn:
        pending = state.pending or {}
        other = self._global_trigger(understood)
        if other is not None and understood.intent != pending.get("intent"):
            state.pending = None  # the user moved on to something else
            turn.path = "global-intent"
            await self._jump(other, understood, state, turn, emit)
            return turn
        self._remember_entities(understood, state)
        filled = [*pending.get("filled", []), *(found["entity"] for found in understood.entities)]
        missing = self._missing(pending.get("intent"), state)
        if not missing:
            state.pending = None
            turn.path = "required-entities"
            await self._walk(pending.get("target"), state, turn, emit, fresh=set(filled))
            return turn
        pending["filled"] = filled
        pending["attempts"] = int(pending.get("attempts", 0)) + 1
        if pending["attempts"] > 2:
            state.pending = None
            turn.path = "fallback"
            await emit(text_message(self.no_match_reply))
            return turn
        turn.path = "reprompt"
        await emit(text_message(render(missing[0]["prompt"], state.variables)))
        return turn

    def button_label(self, state: State, index: int) -> str:
        """The label of button ``index`` of the waiting step, rendered ("" when there is none)."""
        buttons = (self.steps.get(state.step or "") or {}).get("buttons") or []
        if not 0 <= index < len(buttons):
            return ""
        return render(str(buttons[index].get("label", "")), state.variables)

    async def click(self, index: int, state: State, emit: Emit) -> Turn:
        """A click on button ``index`` of the waiting step; a stale click is a no-match."""
        waiting = self.steps.get(state.step or "")
        buttons = (waiting or {}).get("buttons") or []
        turn = Turn()
        if not 0 <= index < len(buttons):
            turn.path = "fallback"
            await emit(text_message(self.no_match_reply))
            return turn
        return await self._button(buttons[index], state, turn, emit)

    # --- understanding ------------------------------------------------------------------
    async def _button(self, button: dict[str, Any], state: State, turn: Turn, emit: Emit) -> Turn:
        turn.path = "button"
        state.variables["last_utterance"] = button.get("label", "")
        if button.get("next"):
            await self._walk(button["next"], state, turn, emit)
            return turn
        # A button without a target speaks for the user: its label goes through the NLU.
        return await self.hear(str(button.get("value") or button.get("label", "")), state, emit)

    def _capture(
        self, step: dict[str, Any], text: str, understood: Understanding, state: State
    ) -> bool:
        entity = step.get("entity")
        if not entity:
            state.variables[step["variable"]] = text.strip()
            return True
        for found in understood.entities:
            if found["entity"] == entity:
                state.variables[step["variable"]] = found["value"]
                return True
        return False

    def _step_intent(self, step: dict[str, Any], understood: Understanding) -> str | None:
        if understood.intent is None:
            return None
        for item in step.get("intents") or []:
            if item.get("intent") == understood.intent:
                return str(item.get("next"))
        return None

    def _global_trigger(self, understood: Understanding) -> str | None:
        if understood.intent is None:
            return None
        for trigger in self.triggers:
            if trigger.get("intent") == understood.intent:
                return str(trigger.get("next"))
        return None

    def _remember_entities(self, understood: Understanding, state: State) -> None:
        """Entities said with a triggering intent fill the variables of the same name, so a
        capture step later in the flow does not ask again ("a large pepperoni, please")."""
        for found in understood.entities:
            state.variables[found["entity"]] = found["value"]

    async def _no_match(
        self, waiting: dict[str, Any], state: State, turn: Turn, emit: Emit
    ) -> Turn:
        if waiting.get("type") == "capture":
            attempts = int(waiting.get("max_attempts") or 2)
            if state.attempts < attempts:
                state.attempts += 1
                turn.path = "reprompt"
                reprompt = waiting.get("reprompt") or waiting.get("prompt") or self.no_match_reply
                await emit(text_message(render(reprompt, state.variables)))
                return turn
            if waiting.get("on_fail"):
                turn.path = "no-match"
                await self._walk(waiting["on_fail"], state, turn, emit)
                return turn
        elif waiting.get("no_match"):
            turn.path = "no-match"
            await self._walk(waiting["no_match"], state, turn, emit)
            return turn
        question = str(state.variables.get("last_utterance") or "")
        if question.strip() and await self._knowledge(question, None, state, turn, emit):
            turn.path = "knowledge"  # answered; the conversation stays where it was
            return turn
        turn.path = "fallback"
        await emit(text_message(self.no_match_reply))
        return turn

    async def _knowledge(
        self,
        question: str,
        step: dict[str, Any] | None,
        state: State,
        turn: Turn,
        emit: Emit,
    ) -> bool:
        """Stream an answer from the knowledge base; False (nothing shown) when it has none."""
        tags = [str(tag) for tag in (step or {}).get("tags") or []] or None
        started, result = False, Knowledge(found=False, reason="no answer")
        async for item in self.capabilities.knowledge(question, tags):
            if isinstance(item, Knowledge):
                result = item
                continue
            if not started:
                started = True
                await emit({"type": "stream.start", "step": (step or {}).get("id", "knowledge")})
            await emit({"type": "stream.chunk", "text": item})
        if started:
            await emit(
                {
                    "type": "stream.end",
                    "complete": result.complete,
                    "text": result.text,
                    "sources": result.sources,
                }
            )
        turn.knowledge = {
            "question": question,
            "found": result.found,
            "reason": result.reason,
            "sources": result.sources,
        }
        if result.found and step is not None and step.get("variable"):
            state.variables[step["variable"]] = result.text
        return result.found

    # --- walking the graph ----------------------------------------------------------------
    async def _walk(
        self,
        step_id: object,
        state: State,
        turn: Turn,
        emit: Emit,
        fresh: set[str] | None = None,
    ) -> None:
        """Run steps from ``step_id`` until one waits for the user (or the flow ends).

        A capture step is skipped when its entity was just said (``fresh``: this turn's entities,
        or those given while a triggered intent's required entities were being collected).
        """
        filled_now = fresh if fresh is not None else {found["entity"] for found in turn.entities}
        for _ in range(MAX_STEPS_PER_TURN):
            step = self.steps.get(str(step_id))
            if step is None:
                turn.errors.append(f"no step {step_id!r}")
                state.step = None
                return
            turn.steps.append(step["id"])
            state.attempts = 0
            kind = step["type"]
            variables = state.variables
            if kind == "capture":
                already = variables.get(step.get("variable", ""))
                if step.get("entity") in filled_now and already not in (None, ""):
                    step_id = step.get("next")
                    continue
                await emit(text_message(render(step.get("prompt", ""), variables)))
                state.step = step["id"]
                return
            if kind == "message":
                buttons = [
                    {"index": index, "label": render(str(b.get("label", "")), variables)}
                    for index, b in enumerate(step.get("buttons") or [])
                ]
                await emit(
                    {
                        "type": "text",
                        "text": render(step.get("text", ""), variables),
                        "buttons": buttons,
                    }
                )
                if waits_for_user(step):
                    state.step = step["id"]
                    return
                step_id = step.get("next")
            elif kind == "condition":
                step_id = next(
                    (b.get("next") for b in step.get("branches") or [] if _holds(b, variables)),
                    step.get("else"),
                )
            elif kind == "set":
                variables[step["variable"]] = render(str(step.get("value", "")), variables)
                step_id = step.get("next")
            elif kind == "generate":
                step_id = await self._generate(step, state, turn, emit)
            elif kind == "api_call":
                step_id = await self._api_call(step, state, turn)
            elif kind == "kb_answer":
                question = render(str(step.get("question") or "{{last_utterance}}"), variables)
                found = await self._knowledge(question, step, state, turn, emit)
                step_id = step.get("next") if found else step.get("no_answer") or step.get("next")
            elif kind == "end":
                if step.get("text"):
                    await emit(text_message(render(step["text"], variables)))
                if step.get("handoff"):
                    turn.handoff = True
                    await emit({"type": "handoff"})
                await emit({"type": "end"})
                state.step, state.ended = step["id"], True
                return
            else:
                turn.errors.append(f"unknown step type {kind!r}")
                state.step = None
                return
        turn.errors.append("the flow ran too many steps without waiting for the user")
        state.step = None

    async def _generate(self, step: dict[str, Any], state: State, turn: Turn, emit: Emit) -> object:
        if self.capabilities.structured(int(step["prompt"])):
            return await self._extract(step, state, turn)
        chunks: list[str] = []
        await emit({"type": "stream.start", "step": step["id"]})
        try:
            async for chunk in self.capabilities.generate(int(step["prompt"]), state.variables):
                chunks.append(chunk)
                await emit({"type": "stream.chunk", "text": chunk})
        except StepFailed as failure:
            turn.errors.append(f"{step['id']}: {failure}")
            await emit({"type": "stream.end", "complete": False, "error": str(failure)})
            return step.get("on_error") or step.get("next")
        await emit({"type": "stream.end", "complete": True, "text": "".join(chunks)})
        if step.get("variable"):
            state.variables[step["variable"]] = "".join(chunks)
        return step.get("next")

    async def _extract(self, step: dict[str, Any], state: State, turn: Turn) -> object:
        """A structured reply: kept in variables, not shown to the user."""
        try:
            found = await self.capabilities.extract(int(step["prompt"]), state.variables)
        except StepFailed as failure:
            turn.errors.append(f"{step['id']}: {failure}")
            return step.get("on_error") or step.get("next")
        if step.get("variable"):
            state.variables[step["variable"]] = json.dumps(found, ensure_ascii=False)
        for variable, path in (step.get("response_map") or {}).items():
            state.variables[variable] = json_path(found, str(path))
        return step.get("next")

    async def _api_call(self, step: dict[str, Any], state: State, turn: Turn) -> object:
        try:
            answer = await self.capabilities.call_api(step, state.variables)
        except StepFailed as failure:
            turn.errors.append(f"{step['id']}: {failure}")
            return step.get("on_error")
        for variable, path in (step.get("response_map") or {}).items():
            state.variables[variable] = json_path(answer, str(path))
        return step.get("next")


def json_path(data: Any, path: str) -> Any:
    """``a.b.0.c`` into nested JSON; None where the path leads nowhere."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif (
            isinstance(data, list)
            and part.lstrip("-").isdecimal()
            and -len(data) <= int(part) < len(data)
        ):
            data = data[int(part)]
        else:
            return None
    return data


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _holds(branch: dict[str, Any], variables: dict[str, Any]) -> bool:
    value = variables.get(branch.get("variable", ""))
    expected = branch.get("value")
    op = branch.get("op")
    if op == "is_set":
        return value not in (None, "")
    if op == "not_set":
        return value in (None, "")
    if value is None:
        return False
    if op in ("gt", "lt"):
        left, right = _number(value), _number(render(str(expected), variables))
        if left is None or right is None:
            return False
        return left > right if op == "gt" else left < right
    text, other = str(value).strip().lower(), render(str(expected), variables).strip().lower()
    if op == "eq":
        return text == other or (_number(text) is not None and _number(text) == _number(other))
    if op == "ne":
        return not (
            text == other or (_number(text) is not None and _number(text) == _number(other))
        )
    if op == "contains":
        return other in text
    return False
