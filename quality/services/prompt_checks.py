"""The checks a prompt's output must pass, written without code: contains, does not contain,
matches a regex, is JSON, length bounds, and a rubric an LLM judges. Prompt tests and
conversation tests both check through here."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pydantic
from django.core.exceptions import ValidationError

from gateway.calls import structured
from gateway.errors import GatewayError
from gateway.ledger import CallScope

KINDS = ("contains", "not contains", "regex", "json", "min length", "max length", "judge")


def check_lines(text: str) -> list[dict[str, Any]]:
    """Checks from the lines a creator wrote (see the module's docstring); a line that is not a
    check is an error naming the line."""
    checks, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        kind, _, value = line.partition(":")
        kind, value = " ".join(kind.lower().split()), value.strip()
        try:
            checks.append(check_clean({"kind": kind, "value": value}))
        except ValidationError as error:
            problems.append(f"line {number}: {' '.join(error.messages)}")
    if problems:
        raise ValidationError({"checks": problems})
    return checks


def check_clean(check: Any) -> dict[str, Any]:
    """A check as stored, or a ValidationError that says what is wrong with it."""
    if not isinstance(check, dict) or check.get("kind") not in KINDS:
        raise ValidationError(f"A check is one of: {', '.join(KINDS)}.")
    kind, value = check["kind"], check.get("value", "")
    if kind in ("min length", "max length"):
        number = str(value).strip()
        if not (number.isdecimal() and len(number) <= 9):
            raise ValidationError(f"“{kind}” needs a whole number of characters.")
        return {"kind": kind, "value": int(number)}
    value = "" if value is None else str(value)
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as error:
            raise ValidationError(f"The pattern does not compile: {error}.") from None
    if kind == "json" and value:
        try:
            jsonschema.Draft202012Validator.check_schema(json.loads(value))
        except (ValueError, RecursionError, jsonschema.SchemaError) as error:
            raise ValidationError(f"The JSON schema is not valid: {error}".split("\n")[0]) from None
    if kind in ("contains", "not contains", "judge") and not value:
        raise ValidationError(f"“{kind}” needs a text.")
    return {"kind": kind, "value": value}


def check_text(check: dict[str, Any]) -> str:
    """A check as the creator writes it."""
    return f"{check['kind']}: {check['value']}" if check["value"] != "" else check["kind"]


class _Verdict(pydantic.BaseModel):
    passed: bool
    reason: str


def check_output(check: dict[str, Any], output: str, *, scope: CallScope) -> str | None:
    """None when ``output`` passes the check, else why it does not."""
    kind, value = check["kind"], check["value"]
    if kind == "contains":
        return None if value.lower() in output.lower() else f"does not contain “{value}”"
    if kind == "not contains":
        return None if value.lower() not in output.lower() else f"contains “{value}”"
    if kind == "regex":
        return None if re.search(value, output) else f"does not match /{value}/"
    if kind == "min length":
        return None if len(output) >= value else f"{len(output)} characters, under {value}"
    if kind == "max length":
        return None if len(output) <= value else f"{len(output)} characters, over {value}"
    if kind == "json":
        try:
            parsed = json.loads(output)
        except ValueError:
            return "is not JSON"
        if value:
            problem = next(
                jsonschema.Draft202012Validator(json.loads(value)).iter_errors(parsed), None
            )
            if problem is not None:
                return f"does not fit the schema: {problem.message}"
        return None
    return judged(value, output, scope=scope)


def judged(rubric: str, output: str, *, scope: CallScope) -> str | None:
    """None when an LLM finds ``output`` meets the rubric, else its reason (or the failure)."""
    messages = [
        {
            "role": "system",
            "content": "You grade a chatbot's reply against a rubric. Pass it only if the reply "
            "clearly meets the rubric; give a one-sentence reason.",
        },
        {"role": "user", "content": f"Rubric: {rubric}\n\nReply:\n{output}"},
    ]
    try:
        verdict = structured(messages, _Verdict, scope=scope, cache="exact").value
    except GatewayError as error:
        return f"the judge failed ({error.kind})"
    return None if verdict.passed else f"judge: {verdict.reason}"
