"""Creator-defined and built-in entities, with the values a flow would store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from nlu.encoder import Encoder
from nlu.entities import (
    BUILT_INS,
    EntityDefinitionError,
    EntityMatcher,
    ListEntity,
    RegexEntity,
    within_one_edit,
)
from nlu.model import NluModel
from tests.nlu.conftest import pizza_examples

MONDAY_NOON = datetime(2026, 11, 23, 12, 0)


@pytest.fixture
def matcher() -> EntityMatcher:
    return EntityMatcher(
        lists=[
            ListEntity("topping", {"pepperoni": ["salami"], "extra cheese": ["double cheese"]}),
            ListEntity("size", {"large": ["big", "XL"], "small": []}),
        ],
        regexes=[RegexEntity("order_id", r"\bORD-\d{4}\b")],
        builtins=list(BUILT_INS),
    )


def found(matcher: EntityMatcher, text: str) -> list[tuple[str, str, str]]:
    return [(e.entity, e.text, e.value) for e in matcher.find(text, now=MONDAY_NOON)]


def test_list_values_match_across_case_plurals_typos_and_synonyms(matcher: EntityMatcher) -> None:
    assert found(matcher, "A BIG pizza with Pepperonis, salami and Extra Chese") == [
        ("size", "BIG", "large"),
        ("topping", "Pepperonis", "pepperoni"),
        ("topping", "salami", "pepperoni"),
        ("topping", "Extra Chese", "extra cheese"),
    ]


@pytest.mark.parametrize(
    "typed", ["pepperonni", "peperoni", "pepperomi", "peppreoni", "PEPPERONIS", "Pepperoni"]
)
def test_one_typo_anywhere_in_a_long_word_still_matches(matcher: EntityMatcher, typed: str) -> None:
    """An added, missing, wrong or swapped letter, a plural, another case."""
    assert found(matcher, f"a {typed} pizza") == [("topping", typed, "pepperoni")]


def test_two_typos_do_not_match(matcher: EntityMatcher) -> None:
    assert found(matcher, "a peperonni pizza") == []


def test_short_words_do_not_match_by_typo(matcher: EntityMatcher) -> None:
    assert found(matcher, "a mall pizza") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order ORD-1234 please", ("order_id", "ORD-1234", "ORD-1234")),
        ("mail me at Ann.Lee@Example.com", ("email", "Ann.Lee@Example.com", "ann.lee@example.com")),
        ("call +44 20 7946 0958", ("phone", "+44 20 7946 0958", "+442079460958")),
        (
            "see www.example.com/menu.",
            ("url", "www.example.com/menu", "https://www.example.com/menu"),
        ),
        ("it costs $25.50", ("money", "$25.50", "25.50 USD")),
        ("about 30 euros", ("money", "30 euros", "30.00 EUR")),
        ("twenty five pizzas", ("number", "twenty five", "25")),
        ("1,200 people", ("number", "1,200", "1200")),
        ("the 2nd floor", ("ordinal", "2nd", "2")),
        ("my third order", ("ordinal", "third", "3")),
        ("tomorrow at 7pm", ("datetime", "tomorrow at 7pm", "2026-11-24T19:00")),
        ("on friday", ("datetime", "on friday", "2026-11-27")),
        ("24 December 2026", ("datetime", "24 December 2026", "2026-12-24")),
        ("2026-01-05", ("datetime", "2026-01-05", "2026-01-05")),
        ("at 19:30", ("datetime", "at 19:30", "19:30")),
    ],
)
def test_built_ins_and_regexes_normalise_their_value(
    matcher: EntityMatcher, text: str, expected: tuple[str, str, str]
) -> None:
    assert expected in found(matcher, text)


def test_a_regex_that_does_not_compile_is_a_clear_error() -> None:
    with pytest.raises(EntityDefinitionError, match=r"entity 'code'.*does not compile"):
        EntityMatcher(regexes=[RegexEntity("code", "(ab")])


def test_an_unknown_built_in_is_a_clear_error() -> None:
    with pytest.raises(EntityDefinitionError, match="unknown built-in entity 'colour'"):
        EntityMatcher(builtins=["colour"])


def test_a_pathological_regex_gives_up_instead_of_hanging() -> None:
    matcher = EntityMatcher(regexes=[RegexEntity("slow", r"(x+x+)+y")])
    assert matcher.find("x" * 5000) == []


@pytest.mark.parametrize("text", ["", "🍕🍕🍕", "x" * 10_000, "東京で 3 pizzas 明日"])
def test_odd_text_gets_a_list(matcher: EntityMatcher, text: str) -> None:
    assert isinstance(matcher.find(text, now=MONDAY_NOON), list)


def test_one_edit_means_one_insertion_deletion_substitution_or_swap() -> None:
    assert within_one_edit("cheese", "chese")
    assert within_one_edit("cheese", "cheeze")
    assert within_one_edit("cheese", "cheesse")
    assert within_one_edit("cheese", "hceese")
    assert not within_one_edit("cheese", "chase")


def test_a_trained_model_returns_list_entities_and_keeps_them_when_saved(
    encoder: Encoder, matcher: EntityMatcher, tmp_path: Path
) -> None:
    model = NluModel.train(pizza_examples(), encoder=encoder, matcher=matcher)
    parse = model.parse("I want a big pizza with salami", now=MONDAY_NOON)
    assert parse.intent == "order_pizza"
    assert [(e.entity, e.value) for e in parse.entities] == [
        ("size", "large"),
        ("topping", "pepperoni"),
    ]
    model.save(tmp_path / "model")
    loaded = NluModel.load(tmp_path / "model", encoder=encoder)
    assert (
        loaded.parse("a big one", now=MONDAY_NOON).entities
        == model.parse("a big one", now=MONDAY_NOON).entities
    )
