"""The demo assistant's NLU, trained once for the runtime tests (the real model, not a stand-in)."""

from __future__ import annotations

import pytest

from builder.demo_content import ANNOTATED, ENTITIES, INTENTS
from nlu.data import EntitySpan, Example
from nlu.entities import EntityMatcher, ListEntity, RegexEntity
from nlu.model import NluModel
from nlu.store import encoder_load


@pytest.fixture(scope="session")
def demo_nlu() -> NluModel:
    examples = [Example(text, name) for name, (_, texts) in INTENTS.items() for text in texts]
    examples += [
        Example(
            item["text"],
            name,
            tuple(
                EntitySpan(s["start"], s["end"], s["entity"], s["value"]) for s in item["entities"]
            ),
        )
        for name, items in ANNOTATED.items()
        for item in items
    ]
    matcher = EntityMatcher(
        lists=[
            ListEntity(e["name"], {v["value"]: v["synonyms"] for v in e["values"]})
            for e in ENTITIES
            if e["kind"] == "list"
        ],
        regexes=[RegexEntity(e["name"], e["pattern"]) for e in ENTITIES if e["kind"] == "regex"],
        builtins=[e["builtin"] for e in ENTITIES if e["kind"] == "builtin"],
    )
    return NluModel.train(examples, encoder=encoder_load(), matcher=matcher)
