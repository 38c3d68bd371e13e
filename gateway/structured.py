"""Structured output: a pydantic model per task, and what to do when the JSON is broken."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import json_repair
import jsonschema
import pydantic

Schema = TypeVar("Schema", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Parsed(Generic[Schema]):
    value: Schema | None
    errors: list[str]
    repaired: bool


def json_schema(schema: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The schema in the strict form OpenAI's structured outputs accept."""
    return _strict(schema.model_json_schema())


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items() if key != "default"}
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        return node
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


def schema_instructions(schema: type[pydantic.BaseModel]) -> str:
    """What a model without strict mode is told, in the system prompt."""
    return (
        "Reply with one JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), separators=(",", ":"))
    )


def output_parse(text: str, schema: type[Schema]) -> Parsed[Schema]:
    """Validate the model's text against the schema, repairing broken JSON locally first."""
    repaired = False
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json_repair.loads(text)
        repaired = True
        if data in ("", None) or not isinstance(data, dict):
            return Parsed(None, ["the reply is not a JSON object"], repaired)
    try:
        return Parsed(schema.model_validate(data), [], repaired)
    except pydantic.ValidationError as error:
        messages = [
            f"{'.'.join(str(part) for part in issue['loc']) or 'the object'}: {issue['msg']}"
            for issue in error.errors()
        ]
        return Parsed(None, messages, repaired)


def complete_items(text: str) -> list[Any]:
    """The items a cut-off answer wrote in full, of the list it was writing: the first list in
    its top-level object (``{"values": [{...}, {...}, {"val``). The item the cut fell in is left
    out, and the rest is repaired like broken JSON; ``[]`` when no item was finished."""
    end = _complete_end(text)
    if end is None:
        return []
    data = json_repair.loads(text[:end])
    if not isinstance(data, dict):
        return []
    return next((value for value in data.values() if isinstance(value, list)), [])


def _complete_end(text: str) -> int | None:
    """Where the last complete item of the top-level object's first list ends, if any."""
    depth, in_string, escaped = 0, False, False
    end: int | None = None
    in_list = False  # inside the first list directly under the top-level object
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if in_list and depth == 2:
                    end = position + 1  # a string item
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            in_list = in_list or (char == "[" and depth == 2)
        elif char in "}]":
            depth -= 1
            if in_list and depth <= 2:
                end = position + 1  # an item closed, or the whole list
            if in_list and depth < 2:
                break
        elif char == "," and in_list and depth == 2:
            end = position  # after an item of any kind (numbers, true, null…)
    return end


def reask_message(errors: list[str]) -> str:
    return (
        "Your reply did not match the required JSON schema:\n- "
        + "\n- ".join(errors[:10])
        + "\nReply again with the corrected JSON object only."
    )


def schema_check(schema: Any) -> dict[str, Any]:
    """A creator's JSON schema for an output, if it is valid and describes an object; else a
    ValueError that says what is wrong."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValueError('The output schema describes a JSON object ("type": "object").')
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise ValueError(f"The output schema is not valid: {error.message}") from None
    return schema


def schema_model(schema: dict[str, Any]) -> type[pydantic.BaseModel]:
    """A pydantic model that validates with a creator's JSON schema, so ``structured`` checks,
    repairs and re-asks for it like for the gateway's own schemas."""
    validator = jsonschema.Draft202012Validator(schema_check(schema))

    class Document(pydantic.RootModel[dict[str, Any]]):
        @pydantic.model_validator(mode="after")
        def _fits(self) -> Document:
            problems = sorted(validator.iter_errors(self.root), key=lambda e: list(e.path))
            if problems:
                raise ValueError(
                    "; ".join(
                        f"{'.'.join(str(p) for p in problem.path) or 'the object'}: "
                        f"{problem.message}"
                        for problem in problems[:5]
                    )
                )
            return self

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return schema

    return Document
