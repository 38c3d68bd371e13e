"""Conversation tests: a script of user turns played against the draft assistant, each with
expectations on what the assistant understood, did and said. Creators write them in the
browser, or save a conversation (test panel or production transcript) as one and edit it.

A turn is ``{"user": "a large pizza", "button": false, "expect": [...]}``; ``button`` means the
user clicks the button with that label. A first turn with no text checks the greeting. An
expectation is ``{"kind": ..., "name": ..., "value": ...}`` of one of ``KINDS``:

    intent           the turn is understood as intent ``value``
    no_match         no intent matched
    entity           entity ``name`` was found (with value ``value``, when given)
    variable         variable ``name`` holds ``value`` after the turn (is set, when empty)
    step             the conversation reached step ``value`` (a step id of the flow)
    reply            the assistant's reply is exactly ``value`` (spacing aside)
    reply_contains   the reply contains ``value`` (case-insensitive)
    reply_regex      the reply matches the pattern ``value``
    judge            an LLM judges the reply against the rubric ``value``
"""

from __future__ import annotations

import difflib
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError

from core.jobs import job_execute
from core.models import DEFAULT_SUITE, Assistant, ConversationTest
from core.tasks import job_enqueue
from gateway.ledger import CallScope
from gateway.models import Purpose
from nlu.progress import Progress
from quality.models import ConversationTestRun
from quality.services.prompt_checks import judged
from runtime.engine import Engine, State
from runtime.models import Conversation
from runtime.services import DialogUnavailable, engine_for
from runtime.transcripts import transcript

KINDS: dict[str, str] = {
    "intent": "intent is",
    "no_match": "no intent matched",
    "entity": "entity found",
    "variable": "variable is",
    "step": "step reached",
    "reply": "reply is",
    "reply_contains": "reply contains",
    "reply_regex": "reply matches",
    "judge": "an LLM judges the reply",
}
NAMED = ("entity", "variable")  # kinds that say which entity or variable
NEEDS_VALUE = ("intent", "step", "reply", "reply_contains", "reply_regex", "judge")
MAX_TURNS = 50
MAX_EXPECTATIONS = 20
MAX_TEXT = 2_000
SUITE = re.compile(r"^[\w .-]{1,64}$")


# --- writing tests -----------------------------------------------------------------------------


def expectation_clean(raw: Any) -> dict[str, str]:
    """An expectation as stored, or a ValidationError saying what is wrong with it."""
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise ValidationError(f"An expectation is one of: {', '.join(KINDS)}.")
    kind = raw["kind"]
    name = " ".join(str(raw.get("name") or "").split())[:100]
    value = str(raw.get("value") if raw.get("value") is not None else "").strip()[:MAX_TEXT]
    if kind in NAMED and not name:
        raise ValidationError(f"“{KINDS[kind]}” needs the {kind}'s name.")
    if kind in NEEDS_VALUE and not value:
        raise ValidationError(f"“{KINDS[kind]}” needs a value.")
    if kind == "reply_regex":
        try:
            re.compile(value)
        except re.error as error:
            raise ValidationError(f"The pattern does not compile: {error}.") from None
    cleaned = {"kind": kind, "value": "" if kind == "no_match" else value}
    if kind in NAMED:
        cleaned["name"] = name
    return cleaned


def turns_clean(raw: Any) -> list[dict[str, Any]]:
    """Turns as stored; a ValidationError names the turn and expectation that is wrong."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError({"turns": "A test needs at least one turn."})
    if len(raw) > MAX_TURNS:
        raise ValidationError({"turns": f"A test has at most {MAX_TURNS} turns."})
    turns, problems = [], []
    for number, turn in enumerate(raw, start=1):
        if not isinstance(turn, dict):
            problems.append(f"turn {number}: a turn is an object with “user” and “expect”.")
            continue
        user = turn.get("user")
        user = "" if user is None else " ".join(str(user).split())[:MAX_TEXT]
        if not user and number > 1:
            problems.append(f"turn {number}: say what the user says.")
        expect = turn.get("expect") or []
        if not isinstance(expect, list) or len(expect) > MAX_EXPECTATIONS:
            problems.append(f"turn {number}: at most {MAX_EXPECTATIONS} expectations.")
            continue
        cleaned = []
        for index, raw_expectation in enumerate(expect, start=1):
            try:
                cleaned.append(expectation_clean(raw_expectation))
            except ValidationError as error:
                problems.append(f"turn {number}, expectation {index}: {' '.join(error.messages)}")
        turns.append(
            {"user": user, "button": bool(turn.get("button")) and bool(user), "expect": cleaned}
        )
    if problems:
        raise ValidationError({"turns": problems})
    if not any(turn["expect"] for turn in turns):
        raise ValidationError({"turns": "Expect something of at least one turn."})
    return turns


def _name_and_suite(name: Any, suite: Any) -> tuple[str, str]:
    name = " ".join(str(name or "").split())[:200]
    if not name:
        raise ValidationError({"name": "Name the test."})
    suite = " ".join(str(suite or "").split()) or DEFAULT_SUITE
    if not SUITE.match(suite):
        raise ValidationError(
            {"suite": "A suite name has at most 64 letters, digits, spaces, dots or dashes."}
        )
    return name, suite


def conversation_test_create(
    *, assistant: Assistant, name: str, turns: Any, suite: str = DEFAULT_SUITE
) -> ConversationTest:
    name, suite = _name_and_suite(name, suite)
    return ConversationTest.objects.create(
        assistant=assistant, name=name, suite=suite, turns=turns_clean(turns)
    )


def conversation_test_update(
    test: ConversationTest, *, name: str, turns: Any, suite: str = DEFAULT_SUITE
) -> ConversationTest:
    """Replace the test's name, suite and turns; nothing changes when any of them is wrong."""
    name, suite = _name_and_suite(name, suite)
    test.name, test.suite, test.turns = name, suite, turns_clean(turns)
    test.save(update_fields=["name", "suite", "turns", "updated_at"])
    return test


def conversation_test_from_conversation(
    *, assistant: Assistant, conversation_id: Any, name: str = ""
) -> ConversationTest:
    """A test that replays a conversation of the assistant: each user turn expects the intent it
    was understood as (or no match), the entities found, and the reply, word for word when it
    came from the flow (generated replies vary: the creator adds a judge where they matter)."""

    conversation = (
        Conversation.objects.filter(pk=conversation_id, assistant=assistant).first()
        if _is_uuid(conversation_id)
        else None
    )
    if conversation is None:
        raise ValidationError({"conversation": "No such conversation of this assistant."})
    turns: list[dict[str, Any]] = [{"user": "", "button": False, "replies": [], "streamed": False}]
    records: list[Any] = [None]
    for line in transcript(conversation):
        if line.who == "user":
            text = line.text[1:-1] if line.button else line.text
            turns.append({"user": text, "button": line.button, "replies": [], "streamed": False})
            records.append(line.turn)
        elif line.who == "bot":
            turns[-1]["replies"].append(line.text)
            turns[-1]["streamed"] = turns[-1]["streamed"] or line.streamed
    scripted: list[dict[str, Any]] = []
    for turn, record in zip(turns, records, strict=True):
        if not turn["user"] and not turn["replies"]:
            continue  # no greeting to check
        expect: list[dict[str, str]] = []
        if record is not None and turn["user"] and not turn["button"]:
            if record.intent:
                expect.append({"kind": "intent", "value": record.intent})
            elif record.path in ("no-match", "fallback", "knowledge"):
                expect.append({"kind": "no_match", "value": ""})
            for found in record.entities[:5]:
                expect.append(
                    {"kind": "entity", "name": found["entity"], "value": str(found["value"])}
                )
        reply = "\n".join(text for text in turn["replies"] if text)
        if reply and not turn["streamed"]:
            expect.append({"kind": "reply", "value": reply[:MAX_TEXT]})
        scripted.append({"user": turn["user"], "button": turn["button"], "expect": expect})
    scripted = [turn for turn in scripted if turn["user"] or turn["expect"]][:MAX_TURNS]
    if not any(turn["user"] for turn in scripted):
        raise ValidationError({"conversation": "The conversation has no user turns to replay."})
    taken = set(assistant.conversation_tests.values_list("name", flat=True))
    base = name or f"Conversation of {conversation.created_at:%Y-%m-%d %H:%M}"
    unique, number = base, 2
    while unique in taken:
        unique, number = f"{base} ({number})", number + 1
    return ConversationTest.objects.create(
        assistant=assistant, name=unique[:200], turns=scripted, source_conversation=conversation
    )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def suites(assistant: Assistant) -> list[str]:
    return sorted(set(assistant.conversation_tests.values_list("suite", flat=True)))


# --- running tests -----------------------------------------------------------------------------


@dataclass
class Observed:
    """What the assistant did in one turn of a test."""

    replies: list[str] = field(default_factory=list)
    intent: str | None = None
    confidence: float = 0.0
    entities: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    step: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # the turn could not be played (no such button, the flow ended…)

    @property
    def reply(self) -> str:
        return "\n".join(text for text in self.replies if text)


class _Collector:
    """The bot's messages of a turn, as the user would read them."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.streaming: list[str] | None = None

    async def emit(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "text":
            self.replies.append(str(frame.get("text") or ""))
        elif kind == "stream.start":
            self.streaming = []
        elif kind == "stream.chunk" and self.streaming is not None:
            self.streaming.append(str(frame.get("text") or ""))
        elif kind == "stream.end":
            self.replies.append(str(frame.get("text") or "".join(self.streaming or [])))
            self.streaming = None

    def take(self) -> list[str]:
        replies, self.replies = self.replies, []
        return replies


async def _play(engine: Engine, turns: Sequence[dict[str, Any]]) -> list[Observed]:
    """Play the user turns against the engine, from a fresh conversation."""

    state, collector = State(), _Collector()
    opening = await engine.start(state, collector.emit)
    observed: list[Observed] = []
    greeting = Observed(
        collector.take(), steps=opening.steps, step=state.step, variables=dict(state.variables)
    )
    for index, turn in enumerate(turns):
        if index == 0 and not turn["user"]:
            observed.append(greeting)
            continue
        if turn["button"]:
            offered = (engine.steps.get(state.step or "") or {}).get("buttons") or []
            labels = [engine.button_label(state, i) for i in range(len(offered))]
            wanted = turn["user"].strip().lower()
            index_of = next(
                (i for i, label in enumerate(labels) if label.strip().lower() == wanted), None
            )
            if index_of is None:
                listed = ", ".join(f"“{label}”" for label in labels) or "none"
                observed.append(
                    Observed(problem=f"no button “{turn['user']}” to click (offered: {listed})")
                )
                continue
            done = await engine.click(index_of, state, collector.emit)
        else:
            done = await engine.hear(turn["user"], state, collector.emit)
        observed.append(
            Observed(
                replies=collector.take(),
                intent=done.intent,
                confidence=done.confidence,
                entities=done.entities,
                steps=done.steps,
                step=done.steps[-1] if done.steps else state.step,
                variables=dict(state.variables),
            )
        )
    return observed


def _diff(expected: str, actual: str) -> list[list[str]]:
    """Word-level differences: ``[op, text]`` with op ``=``, ``-`` (expected only) or ``+``."""
    old, new = expected.split(), actual.split()
    parts: list[list[str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(["=", " ".join(old[a1:a2])])
            continue
        if a2 > a1:
            parts.append(["-", " ".join(old[a1:a2])])
        if b2 > b1:
            parts.append(["+", " ".join(new[b1:b2])])
    return parts


def _check(expectation: dict[str, str], seen: Observed, scope: CallScope) -> dict[str, Any]:
    """One expectation against what was observed: passed, and what was actually there."""
    kind, value, name = expectation["kind"], expectation["value"], expectation.get("name", "")
    result: dict[str, Any] = {
        "kind": kind,
        "label": KINDS[kind],
        "name": name,
        "expected": value,
    }
    reason, actual = "", ""
    if seen.problem:
        reason = seen.problem
    elif kind == "intent":
        actual = seen.intent or "no match"
        if seen.intent != value:
            reason = f"understood as {actual} ({seen.confidence:.0%})"
    elif kind == "no_match":
        actual = seen.intent or "no match"
        if seen.intent:
            reason = f"understood as {seen.intent} ({seen.confidence:.0%})"
    elif kind == "entity":
        found = [str(e["value"]) for e in seen.entities if e.get("entity") == name]
        actual = ", ".join(found) or "not found"
        if not found:
            reason = f"no {name} found"
        elif value and value.lower() not in [f.lower() for f in found]:
            reason = f"{name} was {actual}"
    elif kind == "variable":
        held = seen.variables.get(name)
        actual = "not set" if held in (None, "") else str(held)
        if held in (None, ""):
            reason = f"{name} is not set"
        elif value and str(held).strip().lower() != value.strip().lower():
            reason = f"{name} is {actual}"
    elif kind == "step":
        actual = seen.step or "none"
        if value != seen.step and value not in seen.steps:
            reason = f"the conversation is at {actual}"
    else:
        actual = seen.reply
        if kind == "reply":
            if " ".join(value.split()) != " ".join(actual.split()):
                reason = "the reply differs"
                result["diff"] = _diff(value, actual)
        elif kind == "reply_contains":
            if value.lower() not in actual.lower():
                reason = f"the reply does not contain “{value}”"
        elif kind == "reply_regex":
            if not re.search(value, actual):
                reason = f"the reply does not match /{value}/"
        else:
            reason = judged(value, actual, scope=scope) or ""
    return {**result, "actual": actual, "passed": not reason, "reason": reason}


def conversation_tests_run(
    assistant: Assistant,
    tests: Sequence[ConversationTest],
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Play each test against the assistant's draft; the report has, per test, each turn with
    what was said and replied and each expectation with what was actually there."""

    progress = progress or (lambda stage, fraction: None)
    engine = engine_for(assistant, draft=True)  # DialogUnavailable: nothing to test yet
    scope = CallScope(Purpose.TEST, workspace_id=assistant.workspace_id, assistant_id=assistant.pk)
    started = time.perf_counter()
    rows = []
    for index, test in enumerate(tests):
        progress(test.name, index / max(1, len(tests)))
        observed = async_to_sync(_play)(engine, test.turns)
        turns = []
        for turn, seen in zip(test.turns, observed, strict=True):
            checks = [_check(expectation, seen, scope) for expectation in turn["expect"]]
            turns.append(
                {
                    "user": turn["user"],
                    "button": turn["button"],
                    "reply": seen.reply,
                    "intent": seen.intent,
                    "confidence": round(seen.confidence, 4),
                    "step": seen.step,
                    "problem": seen.problem,
                    "checks": checks,
                    "passed": all(check["passed"] for check in checks),
                }
            )
        failed_checks = sum(not c["passed"] for t in turns for c in t["checks"])
        rows.append(
            {
                "test": test.pk,
                "name": test.name,
                "suite": test.suite,
                "passed": failed_checks == 0,
                "checks": sum(len(t["checks"]) for t in turns),
                "failed_checks": failed_checks,
                "turns": turns,
            }
        )
    progress("done", 1.0)
    failed = sum(not row["passed"] for row in rows)
    return {
        "assistant": assistant.pk,
        "total": len(rows),
        "passed": len(rows) - failed,
        "failed": failed,
        "seconds": round(time.perf_counter() - started, 2),
        "tests": rows,
    }


def _selected(assistant: Assistant, suite: str) -> list[ConversationTest]:
    tests = assistant.conversation_tests.all()
    return list(tests.filter(suite=suite) if suite else tests)


def _new_run(assistant: Assistant, suite: str) -> ConversationTestRun:
    if not _selected(assistant, suite):
        raise ValidationError(
            {"suite": f"No tests in the suite “{suite}”." if suite else "No tests yet."}
        )
    return ConversationTestRun.objects.create(assistant=assistant, suite=suite)


def conversation_tests_request(*, assistant: Assistant, suite: str = "") -> ConversationTestRun:
    """Queue a run of the assistant's tests (one suite, or all); it starts once this commits."""
    run = _new_run(assistant, suite)
    job_enqueue("conversation_tests", run.pk)
    return run


def conversation_test_run_execute(run_id: int) -> ConversationTestRun:
    """Run a queued run (once; a run another worker took is left to it)."""

    def work(run: ConversationTestRun, progress: Progress) -> None:
        try:
            tests = _selected(run.assistant, run.suite)
            results = conversation_tests_run(run.assistant, tests, progress=progress)
        except DialogUnavailable as unavailable:  # said to the creator as it is
            raise ValueError(str(unavailable)) from None
        run.report = {"suite": run.suite or None, **results}

    return job_execute(ConversationTestRun, run_id, work)


def conversation_tests_now(*, assistant: Assistant, suite: str = "") -> ConversationTestRun:
    """Run the tests in this process and return the finished run (the command and publishing
    use it; the page queues runs instead)."""
    return conversation_test_run_execute(_new_run(assistant, suite).pk)
