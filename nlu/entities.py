"""Creator-defined entities (lists with synonyms, regular expressions) and built-ins.

List values match robustly: any case, accents, a plural "s"/"es", and one typo in words of six
letters or more. Each match carries the canonical value the creator wrote, not the surface text.
Built-ins (number, ordinal, email, phone, URL, money, date/time) normalise their value: numbers to
digits, phone numbers to E.164-like digits, money to "12.50 EUR", dates to ISO 8601.

Creator regular expressions run with a time limit, so a pathological pattern costs one missed
match, never a hung chat turn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import regex

BUILT_INS = ("number", "ordinal", "email", "phone", "url", "money", "datetime")
REGEX_TIME_LIMIT_S = 0.02
WORD = re.compile(r"\w+(?:['’]\w+)?")


class EntityDefinitionError(ValueError):
    """An entity definition the matcher cannot use; the message names the entity."""


@dataclass(frozen=True)
class Entity:
    """An entity found in an utterance: ``text`` as written, ``value`` normalised."""

    start: int
    end: int
    entity: str
    text: str
    value: str
    source: str  # "list", "regex", "builtin" or "model"


@dataclass(frozen=True)
class ListEntity:
    name: str
    values: dict[str, list[str]]  # canonical value -> synonyms (the value itself always matches)


@dataclass(frozen=True)
class RegexEntity:
    name: str
    pattern: str


def fold(word: str) -> str:
    """Lower case without accents: "Crème" and "creme" are the same word."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` becomes ``b`` by one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    shorter, longer = sorted((a, b), key=len)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1 :]


TYPO_MIN_LETTERS = 6  # shorter words must match exactly (or as plural/singular)


def _word_matches(word: str, expected: str) -> bool:
    if word == expected or singular(word) == singular(expected):
        return True
    return len(expected) >= TYPO_MIN_LETTERS and within_one_edit(word, expected)


def _keys(word: str, *, typo_min: int) -> set[str]:
    """Index keys of a word: two words that ``_word_matches`` share at least one.

    Its singular, and for words long enough to forgive a typo the word and its one-letter
    deletions: one substitution, insertion, deletion or swap leaves a deletion in common.
    """
    keys = {singular(word)}
    if len(word) >= typo_min:
        keys.add(word)
        keys.update(word[:i] + word[i + 1 :] for i in range(len(word)))
    return keys


@dataclass
class EntityMatcher:
    lists: list[ListEntity] = field(default_factory=list)
    regexes: list[RegexEntity] = field(default_factory=list)
    builtins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.builtins) - set(BUILT_INS))
        if unknown:
            raise EntityDefinitionError(
                f"unknown built-in entity {unknown[0]!r}; the built-ins are {', '.join(BUILT_INS)}"
            )
        self._compiled: list[tuple[str, Any]] = []
        for entity in self.regexes:
            try:
                self._compiled.append((entity.name, regex.compile(entity.pattern)))
            except regex.error as error:
                message = f"entity {entity.name!r}: the pattern {entity.pattern!r} does not compile"
                raise EntityDefinitionError(f"{message}: {error}") from None
        # (entity, canonical value, folded words of one synonym), longest synonyms first.
        self._phrases: list[tuple[str, str, list[str]]] = sorted(
            (
                (entity.name, value, [fold(w) for w in WORD.findall(synonym)])
                for entity in self.lists
                for value, synonyms in entity.values.items()
                for synonym in {value, *synonyms}
                if WORD.findall(synonym)
            ),
            key=lambda phrase: -len(phrase[2]),
        )
        # Where each phrase may start, by the index keys of its first word: a word of the text
        # is then compared with the few phrases that can start there, not with every phrase.
        self._starts: dict[str, list[int]] = {}
        for index, (_, _, words) in enumerate(self._phrases):
            for key in _keys(words[0], typo_min=TYPO_MIN_LETTERS):
                self._starts.setdefault(key, []).append(index)

    def find(self, text: str, *, now: datetime | None = None) -> list[Entity]:
        """Every entity in ``text``, overlaps resolved in favour of the longer match."""
        if not (self._phrases or self._compiled or self.builtins):
            return []
        candidates = [
            *self._list_matches(text),
            *self._regex_matches(text),
            *builtin_matches(text, self.builtins, now=now or datetime.now()),
        ]
        return resolve_overlaps(candidates)

    def _list_matches(self, text: str) -> Iterable[Entity]:
        if not self._phrases:
            return
        words = [(fold(m.group()), m.start(), m.end()) for m in WORD.finditer(text)]
        found = []
        for i, (word, _, _) in enumerate(words):
            # A text word one letter shorter than a phrase word may still be its typo.
            keys = _keys(word, typo_min=TYPO_MIN_LETTERS - 1)
            candidates = {index for key in keys for index in self._starts.get(key, ())}
            for index in candidates:
                entity, value, phrase = self._phrases[index]
                window = words[i : i + len(phrase)]
                if len(window) == len(phrase) and all(
                    _word_matches(w, p) for (w, _, _), p in zip(window, phrase, strict=True)
                ):
                    start, end = window[0][1], window[-1][2]
                    found.append(
                        (index, i, Entity(start, end, entity, text[start:end], value, "list"))
                    )
        found.sort(key=lambda match: match[:2])  # longest phrases first, as they were defined
        yield from (entity for _, _, entity in found)

    def _regex_matches(self, text: str) -> Iterable[Entity]:
        for entity, pattern in self._compiled:
            try:
                found = list(pattern.finditer(text, timeout=REGEX_TIME_LIMIT_S))
            except TimeoutError:
                continue
            for match in found:
                if match.end() > match.start():
                    yield Entity(
                        match.start(), match.end(), entity, match.group(), match.group(), "regex"
                    )

    def definitions(self) -> dict[str, Any]:
        return {
            "lists": [{"name": e.name, "values": e.values} for e in self.lists],
            "regexes": [{"name": e.name, "pattern": e.pattern} for e in self.regexes],
            "builtins": list(self.builtins),
        }

    @classmethod
    def from_definitions(cls, data: dict[str, Any]) -> EntityMatcher:
        return cls(
            lists=[ListEntity(e["name"], e["values"]) for e in data.get("lists", [])],
            regexes=[RegexEntity(e["name"], e["pattern"]) for e in data.get("regexes", [])],
            builtins=list(data.get("builtins", [])),
        )


SOURCE_PRIORITY = {"list": 0, "regex": 1, "model": 2, "builtin": 3}


def resolve_overlaps(candidates: Iterable[Entity]) -> list[Entity]:
    """Keep the longest matches; among equal lengths, creator definitions beat the model and
    built-ins."""
    chosen: list[Entity] = []
    for match in sorted(
        candidates, key=lambda m: (-(m.end - m.start), SOURCE_PRIORITY[m.source], m.start)
    ):
        if all(match.end <= c.start or match.start >= c.end for c in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)


# --- built-ins ------------------------------------------------------------------------------

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)]")
PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{5,}\d(?!\w)")
CURRENCIES = {
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP",
    "¥": "JPY", "jpy": "JPY", "yen": "JPY", "chf": "CHF", "francs": "CHF",
}  # fmt: skip
_SYMBOLS = "|".join(re.escape(s) for s in sorted(CURRENCIES, key=len, reverse=True))
MONEY = re.compile(
    rf"(?P<pre>{_SYMBOLS})\s?(?P<a>\d[\d,]*(?:\.\d+)?)|(?P<b>\d[\d,]*(?:\.\d+)?)\s?(?P<post>{_SYMBOLS})\b",
    re.IGNORECASE,
)
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "dozen": 12,
}  # fmt: skip
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "last": -1,
}  # fmt: skip
NUMBER = re.compile(
    r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])-?\d+(?:\.\d+)?(?![\w])"
)
_WORDS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
NUMBER_PHRASE = re.compile(rf"\b(?:{_WORDS})(?:[\s-]+(?:and\s+)?(?:{_WORDS}))*\b", re.IGNORECASE)
ORDINAL = re.compile(
    r"\b(?P<n>\d+)(?:st|nd|rd|th)\b|\b(?P<w>" + "|".join(ORDINAL_WORDS) + r")\b", re.IGNORECASE
)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(m[:3] + f"(?:{m[3:]})?" for m in MONTHS) + r")\.?"
DATE_PATTERNS = [
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})\b"),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}(?:\s+(?P<y>\d{{4}}))?\b", re.I
    ),
    re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?\b", re.I),
]
RELATIVE_DAY = re.compile(
    r"\b(?P<word>today|tonight|tomorrow|yesterday|day after tomorrow)\b"
    r"|\b(?:(?P<next>next|this|on)\s+)?(?P<weekday>" + "|".join(WEEKDAYS) + r")\b",
    re.IGNORECASE,
)
TIME = re.compile(
    r"\b(?:at\s+)?(?P<h>[01]?\d|2[0-3])(?::(?P<min>[0-5]\d))?\s*(?P<ampm>[ap]\.?m\.?)(?!\w)"
    r"|\b(?:at\s+)?(?P<h24>[01]?\d|2[0-3]):(?P<min24>[0-5]\d)\b",
    re.IGNORECASE,
)


def _number_value(phrase: str) -> int | None:
    total, current = 0, 0
    for word in re.split(r"[\s-]+", phrase.lower()):
        if word == "and" or not word:
            continue
        value = NUMBER_WORDS.get(word)
        if value is None:
            return None
        if value in (100, 1000):
            current = max(current, 1) * value
            if value == 1000:
                total, current = total + current, 0
        else:
            current += value
    return total + current


def builtin_matches(text: str, wanted: Iterable[str], *, now: datetime) -> list[Entity]:
    wanted = set(wanted)
    found: list[Entity] = []

    def add(match: re.Match[str], entity: str, value: str) -> None:
        found.append(Entity(match.start(), match.end(), entity, match.group(), value, "builtin"))

    if "email" in wanted:
        for match in EMAIL.finditer(text):
            add(match, "email", match.group().lower())
    if "url" in wanted:
        for match in URL.finditer(text):
            url = match.group()
            add(match, "url", url if "://" in url else f"https://{url}")
    if "phone" in wanted:
        for match in PHONE.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if 7 <= len(digits) <= 15 and not DATE_PATTERNS[0].fullmatch(match.group()):
                add(match, "phone", ("+" if match.group().startswith("+") else "") + digits)
    if "money" in wanted:
        for match in MONEY.finditer(text):
            amount = (match.group("a") or match.group("b")).replace(",", "")
            currency = CURRENCIES[(match.group("pre") or match.group("post")).lower()]
            add(match, "money", f"{float(amount):.2f} {currency}")
    if "number" in wanted:
        for match in NUMBER.finditer(text):
            add(match, "number", match.group().replace(",", ""))
        for match in NUMBER_PHRASE.finditer(text):
            amount = _number_value(match.group())
            if amount is not None:
                add(match, "number", str(amount))
    if "ordinal" in wanted:
        for match in ORDINAL.finditer(text):
            add(match, "ordinal", match.group("n") or str(ORDINAL_WORDS[match.group("w").lower()]))
    if "datetime" in wanted:
        found.extend(_datetime_matches(text, now))
    return found


def _datetime_matches(text: str, now: datetime) -> list[Entity]:
    found: list[Entity] = []
    today = now.date()
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            month = (
                groups.get("m")
                or MONTHS.index(
                    next(m for m in MONTHS if m.startswith(groups["month"].lower()[:3]))
                )
                + 1
            )
            try:
                day = date(int(groups.get("y") or today.year), int(month), int(groups["d"]))
            except ValueError:
                continue
            found.append(
                Entity(
                    match.start(),
                    match.end(),
                    "datetime",
                    match.group(),
                    day.isoformat(),
                    "builtin",
                )
            )
    for match in RELATIVE_DAY.finditer(text):
        word = (match.group("word") or "").lower()
        if word:
            offset = {
                "today": 0,
                "tonight": 0,
                "tomorrow": 1,
                "yesterday": -1,
                "day after tomorrow": 2,
            }[word]
            day = today + timedelta(days=offset)
        else:
            weekday = WEEKDAYS.index(match.group("weekday").lower())
            ahead = (weekday - today.weekday()) % 7
            if ahead == 0 or (match.group("next") or "").lower() == "next":
                ahead = ahead or 7
            day = today + timedelta(days=ahead)
        found.append(
            Entity(
                match.start(), match.end(), "datetime", match.group(), day.isoformat(), "builtin"
            )
        )
    times = []
    for match in TIME.finditer(text):
        hour = int(match.group("h") or match.group("h24"))
        minute = int(match.group("min") or match.group("min24") or 0)
        ampm = (match.group("ampm") or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        if ampm == "am" and hour == 12:
            hour = 0
        times.append((match, f"{hour:02d}:{minute:02d}"))
    for match, clock in times:
        # A time right after a date joins it: "tomorrow at 7pm" -> one datetime.
        before = [d for d in found if 0 <= match.start() - d.end <= 1 and len(d.value) == 10]
        if before:
            day_match = before[-1]
            found.remove(day_match)
            found.append(
                Entity(
                    day_match.start,
                    match.end(),
                    "datetime",
                    text[day_match.start : match.end()],
                    f"{day_match.value}T{clock}",
                    "builtin",
                )
            )
        else:
            found.append(
                Entity(match.start(), match.end(), "datetime", match.group(), clock, "builtin")
            )
    return found
