"""Guardrails the gateway applies to text: PII redaction and prompt-injection heuristics.

PII detection favours precision: it redacts logs, and a log where order numbers, years, prices,
dates and times are blanked out is useless. So every kind is matched by a shape and then, where one
exists, a checksum (Luhn for cards, ISO 13616 mod-97 for IBANs, the SSA's excluded ranges for SSNs).

The injection check scores user text that will be placed in an LLM prompt. Each rule has a name
and a weight; the score is ``1 - prod(1 - weight)`` over the rules that fired. The text is
normalised first (format characters such as zero-width spaces removed, NFKC, accents dropped,
casefolded, whitespace collapsed), so fullwidth letters and zero-width splitting do not slip past.

Every pattern is compiled at import and written to run in linear time (anchored starts, possessive
or bounded repeats), so a 10,000-character or adversarial message cannot stall a request.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass

import regex

# --- PII -----------------------------------------------------------------------------------------

REDACTION_LABELS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "ip": "[IP]",
    "ssn": "[SSN]",
}
# On overlap a checksummed or strictly shaped kind beats a phone number; then the longer match.
_SPECIFICITY = {"card": 0, "iban": 1, "ssn": 2, "email": 3, "ip": 4, "phone": 5}

_EMAIL = regex.compile(
    r"""
    (?<![\w.%+-])
    [A-Za-z0-9._%+-]{1,64}+
    @
    [A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++
    (?!\w)
    """,
    regex.VERBOSE,
)

_DOMAIN_LABEL = regex.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL_DOMAIN = regex.compile(r"[A-Za-z]{2,63}")

_CARD = regex.compile(
    r"""
    (?<![\w.,]|\d[ -])
    (?:
        \d{13,19}+
      | \d{4}(?P<s1>[ -])\d{4}(?P=s1)\d{4}(?P=s1)\d{1,4}(?:(?P=s1)\d{1,3})?  # 4-4-4-4(-3)
      | \d{4}(?P<s2>[ -])\d{6}(?P=s2)\d{4,5}                                 # Amex, Diners
    )
    (?!\w|[.,-]\d)
    """,
    regex.VERBOSE,
)

_IBAN = regex.compile(
    r"""
    \b[A-Z]{2}\d{2}
    (?:
        [A-Z0-9]{11,30}+
      | (?:\ [A-Z0-9]{4}){2,7}+(?:\ [A-Z0-9]{1,3})?
    )
    (?!\w)
    """,
    regex.VERBOSE | regex.IGNORECASE,
)

# ISO 13616 registry: country code -> IBAN length.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = regex.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\w)")

_SSN = regex.compile(
    r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w]|-\d)",
)

_PHONE = regex.compile(
    r"""
    (?=[+(\d])(?<![\w+.-]|\d\s)
    (?:
        # +44 20 7946 0958, +1 (202) 555-0173
        \+\d{1,3}+(?:[ .-]?\(\d{1,4}+\)[ .-]?\d{1,8}+)?(?:[ .-]\d{1,8}+){1,6}+
      | \+\d{7,15}+                                            # +447911123456
      | (?:1[ .-]?)?\([2-9]\d{2}\)[ .-]?\d{3}[ .-]\d{4}        # (555) 123-4567
      | (?:1[ .-])?[2-9]\d{2}(?P<us>[ .-])\d{3}(?P=us)\d{4}    # 555-123-4567
      | \(0\d{1,4}\)\ ?\d{3,4}[ -]?\d{3,4}                      # (020) 7946 0958
      | 0[1-9](?P<pairs>[ .-])\d{2}(?:(?P=pairs)\d{2}){3}      # 06 12 34 56 78
      | (?P<trunk>0[1-9]\d{0,3}+(?P<sep>[ -])\d{2,8}+(?:(?P=sep)\d{2,4}+){0,3}+)  # 020 7946 0958
    )
    (?![\w+]|[.-]\d)
    """,
    regex.VERBOSE,
)
_PHONE_MIN_DIGITS = 8
# A bare trunk-prefixed number needs one digit more, so "05 11 2026" stays a date.
_TRUNK_PHONE_MIN_DIGITS = 9
_PHONE_MAX_DIGITS = 15  # E.164
_NON_DIGIT = regex.compile(r"\D+")
_IBAN_MIN_LENGTH = min(_IBAN_LENGTHS.values())


@dataclass(frozen=True)
class PiiFinding:
    """One piece of personal data in a text: its kind and the ``[start, end)`` span."""

    kind: str  # "email" | "phone" | "card" | "iban" | "ip" | "ssn"
    start: int
    end: int


def pii_find(text: str) -> list[PiiFinding]:
    """Every piece of personal data in ``text``, sorted by start and never overlapping.

    Where candidates overlap, a checksummed or strictly shaped kind (card, IBAN, SSN, email, IP)
    wins over a phone number, then the longer span wins.
    """
    candidates = [
        *_emails(text),
        *_cards(text),
        *_ibans(text),
        *_simple(text, _IPV4, "ip"),
        *_simple(text, _SSN, "ssn"),
        *_phones(text),
    ]
    candidates.sort(
        key=lambda f: (f.kind == "phone", f.start - f.end, _SPECIFICITY[f.kind], f.start)
    )
    starts: list[int] = []
    kept: list[PiiFinding] = []
    for finding in candidates:
        i = bisect.bisect_left(starts, finding.start)
        if i > 0 and kept[i - 1].end > finding.start:
            continue
        if i < len(kept) and kept[i].start < finding.end:
            continue
        starts.insert(i, finding.start)
        kept.insert(i, finding)
    return kept


def pii_redact(text: str) -> str:
    """``text`` with each piece of personal data replaced by its label, e.g. ``[EMAIL]``."""
    findings = pii_find(text)
    if not findings:
        return text
    parts: list[str] = []
    position = 0
    for finding in findings:
        parts.append(text[position : finding.start])
        parts.append(REDACTION_LABELS[finding.kind])
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def pii_redact_value(value: object) -> object:
    """``value`` with every string inside dicts, lists and tuples redacted; keys are kept as
    they are, and values that are not strings or containers come back unchanged."""
    if isinstance(value, str):
        return pii_redact(value)
    if isinstance(value, dict):
        return {key: pii_redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pii_redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(pii_redact_value(item) for item in value)
    return value


def _simple(text: str, pattern: regex.Pattern[str], kind: str) -> list[PiiFinding]:
    return [PiiFinding(kind, m.start(), m.end()) for m in pattern.finditer(text)]


def _emails(text: str) -> list[PiiFinding]:
    # The domain is matched possessively and checked here: backtracking over its labels to find
    # the top-level domain would be quadratic in the number of dots.
    return [
        PiiFinding("email", m.start(), m.end())
        for m in _EMAIL.finditer(text)
        if all(_DOMAIN_LABEL.fullmatch(label) for label in m.group().rpartition("@")[2].split("."))
        and _TOP_LEVEL_DOMAIN.fullmatch(m.group().rpartition(".")[2])
    ]


def _cards(text: str) -> list[PiiFinding]:
    found = []
    for match in _CARD.finditer(text):
        digits = _NON_DIGIT.sub("", match.group())
        # Issuer ranges start with 2-6; an order number starting with 0, 1, 7, 8 or 9 that
        # happens to pass Luhn (one in ten do) is not a card.
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn_valid(digits):
            found.append(PiiFinding("card", match.start(), match.end()))
    return found


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _ibans(text: str) -> list[PiiFinding]:
    found = []
    for match in _IBAN.finditer(text):
        # A grouped IBAN may have swallowed a following four-letter word ("... 7034 from");
        # drop trailing groups until the rest validates.
        groups = match.group().split(" ")
        for count in range(len(groups), 0, -1):
            compact = "".join(groups[:count]).upper()
            if len(compact) < _IBAN_MIN_LENGTH:
                break
            if _iban_valid(compact):
                end = match.start() + len(" ".join(groups[:count]))
                found.append(PiiFinding("iban", match.start(), end))
                break
    return found


def _iban_valid(compact: str) -> bool:
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _phones(text: str) -> list[PiiFinding]:
    found = []
    for match in _PHONE.finditer(text):
        digits = sum(char.isdigit() for char in match.group())
        minimum = _TRUNK_PHONE_MIN_DIGITS if match.group("trunk") else _PHONE_MIN_DIGITS
        if minimum <= digits <= _PHONE_MAX_DIGITS:
            found.append(PiiFinding("phone", match.start(), match.end()))
    return found


# --- Prompt injection ----------------------------------------------------------------------------

INJECTION_THRESHOLD = 0.5

_FORMAT_CHARS = regex.compile(r"\p{Cf}+")  # zero-width spaces and joiners, BOM, bidi controls
_MARKS = regex.compile(r"\p{Mn}+")

# Patterns below run on normalised text: casefolded, no accents, single whitespace characters.
_OVERRIDE = regex.compile(
    r"""
    \b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect)\s
      (?:(?:all|any|every|each|of|the|your|these|those|such)\s){0,3}
      (?:(?:previous|prior|above|earlier|preceding|foregoing|former|initial|original|existing
           |current|system|developer|safety|old)\s){1,2}
      (?:\w+\s)?
      (?:instructions?|rules|prompts?|directions|directives|guidelines|commands|guardrails
         |constraints|context|programming)\b
  | \b(?:ignore|disregard|forget|override|bypass)\s(?:all\s(?:of\s)?(?:the\s|your\s)?|your\s)
      (?:instructions|rules|prompts?|directions|guidelines|programming|guardrails)\b
  | \b(?:ignore|disregard|forget)\s
      (?:everything|all|anything
         |what(?:ever)?\s(?:was|is|you\s(?:were|have\sbeen))\s(?:said|told|written))\s
      (?:above|before|previously|so\sfar|until\snow)\b
    # French: "ignore les instructions précédentes"
  | \b(?:ignore[rz]?|oublie[rz]?)\s(?:toutes\s)?(?:les\s|tes\s|vos\s)?
      (?:(?:instructions|consignes|regles|directives)\s(?:precedentes|anterieures|ci-dessus)
         |(?:precedentes|anterieures)\s(?:instructions|consignes|regles|directives))\b
    # Spanish: "ignora las instrucciones anteriores"
  | \b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|omite)\s(?:todas\s)?
      (?:las\s|tus\s|sus\s)?(?:instrucciones|reglas|indicaciones|directrices|ordenes)\s
      (?:anteriores|previas|de\sarriba)\b
    # German: "ignoriere alle vorherigen Anweisungen"
  | \b(?:ignoriere|ignorier|ignorieren|vergiss|vergessen|missachte)\s(?:sie\s)?(?:alle\s)?
      (?:die\s|deine\s|ihre\s)?(?:vorherigen|vorigen|bisherigen|obigen|vorangegangenen|fruheren)\s
      (?:anweisungen|instruktionen|regeln|befehle|vorgaben)\b
    # Italian, Portuguese, Dutch
  | \b(?:ignora|dimentica)\s(?:tutte\s)?(?:le\s)?(?:istruzioni|regole)\s(?:precedenti)\b
  | \b(?:ignore|ignora|esqueca)\s(?:todas\s)?(?:as\s)?(?:instrucoes|regras)\s(?:anteriores)\b
  | \bnegeer\s(?:alle\s)?(?:de\s)?(?:vorige|eerdere|voorgaande)\s(?:instructies|regels)\b
    """,
    regex.VERBOSE,
)

_ROLE_HIJACK = regex.compile(
    r"""
    \b(?:you\sare\snow|you['’]re\snow|from\snow\son,?\syou\sare|act\sas|acting\sas
       |pretend\s(?:to\sbe|you\sare|you['’]re|that\syou\sare)|role-?play\sas|behave\sas)\s
    (?:(?:a|an|the|my|if\syou\swere|though\syou\swere)\s)?
    (?:[\w-]+\s){0,2}?
    (?:assistant|ai|chatbot|bot|system|dan|developer\smode|admin|administrator|root|sudo
       |unrestricted|unfiltered|uncensored|jailbroken|evil|language\smodel|llm|gpt|chatgpt)\b
    """,
    regex.VERBOSE,
)

_PROMPT_EXFILTRATION = regex.compile(
    r"""
    \b(?:reveal|print|show|display|repeat|output|tell|give|leak|dump|share|send|write|list
       |spell\sout|recite|what\sis|what's|what\swas|what\sare|what\swere)\s
      (?:me\s|us\s)?
      (?:(?:all|your|the|its|of|entire|full|complete|exact|original|initial|hidden|secret
           |internal|confidential|underlying)\s){0,4}
      (?:system\s(?:prompt|message|instructions?)
         |(?:hidden|secret|initial|original|internal|confidential|underlying|developer)\s
          (?:prompt|instructions?|rules))\b
  | \b(?:reveal|print|repeat|output|leak|dump|recite|show|display)\s(?:me\s|us\s)?
      (?:(?:all|of|the|entire|full|complete|exact)\s){0,2}your\s
      (?:(?:entire|full|complete|exact|original|initial)\s)?
      (?:prompt|instructions|rules|guidelines)\b
      (?!\s(?:for|on|about|regarding|to|when)\b)
  | \b(?:repeat|print|output|reveal|show|display|copy|write|recite)\s(?:me\s)?
      (?:(?:all|of|the|verbatim)\s){0,3}
      (?:text|words|content|everything|messages?|instructions|prompt)\s
      (?:above|before\sthis|preceding|prior\sto\sthis)\b
  | \b(?:prompt|instructions)\s(?:verbatim|word\sfor\sword)\b
    """,
    regex.VERBOSE,
)

_FAKE_ROLE_MARKERS = regex.compile(
    r"""
    ^\ ?system\ ?:
  | \#{2,}\ ?(?:system|instructions?|new\sinstructions)\b
  | <\|(?:im_start|im_end|system|user|assistant|endoftext)\|>
  | \[/?inst\]
  | </s>
  | <</?sys>>
    """,
    regex.VERBOSE | regex.MULTILINE,
)

_JAILBREAK_TERMS = regex.compile(
    r"""
    \b(?:do\sanything\snow|developer\smode|dan\smode|jailbr(?:eak|oken)\w*|unfiltered\smode)\b
  | \b(?:no\s|without\s(?:any\s)?)(?:restrictions|filters|filtering|limitations|censorship
       |guardrails|ethical\sguidelines|content\spolicy|safety\s(?:filters|guidelines))\b
      (?!\s(?:on|for|to|in)\b)
    """,
    regex.VERBOSE,
)
# Checked before casefolding: "DAN" the jailbreak persona is written in capitals, Dan the
# customer is not.
_DAN = regex.compile(r"(?<!\w)DAN(?!\w)")

_URL = regex.compile(r"(?:https?://|www\.)\S++")
_BASE64_MIN_LENGTH = 80
_BASE64_BLOB = regex.compile(rf"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{{{_BASE64_MIN_LENGTH},}}+={{0,2}}")
_BASE64_CLASSES = (regex.compile(r"[A-Z]"), regex.compile(r"[a-z]"), regex.compile(r"\d"))

# Three or more lines made only of fence or rule characters, then more text. A block is only
# entered at its first line, so a long run of such lines is scanned once, not once per line.
_DELIMITER_BREAK = regex.compile(
    r"^(?<!^[`\-=*#_~][`\-=*#_~ ]*\n)(?:[`\-=*#_~][`\-=*#_~ ]++\n){3,}+[^\n]*[a-z]",
    regex.MULTILINE,
)


@dataclass(frozen=True)
class _Rule:
    reason: str
    weight: float
    pattern: regex.Pattern[str]


_JAILBREAK = _Rule("jailbreak-terms", 0.6, _JAILBREAK_TERMS)
_RULES = (
    _Rule("override-instructions", 0.85, _OVERRIDE),
    _Rule("prompt-exfiltration", 0.75, _PROMPT_EXFILTRATION),
    _Rule("fake-role-markers", 0.7, _FAKE_ROLE_MARKERS),
    _Rule("role-hijack", 0.6, _ROLE_HIJACK),
    _JAILBREAK,
    _Rule("delimiter-breaking", 0.5, _DELIMITER_BREAK),
)
_ENCODED_PAYLOAD_WEIGHT = 0.5


@dataclass(frozen=True)
class InjectionVerdict:
    """What the injection heuristics make of a text: the rules that fired and their score."""

    flagged: bool
    score: float  # 0..1
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form for logs and API responses."""
        return {"flagged": self.flagged, "score": self.score, "reasons": list(self.reasons)}


def injection_check(text: str) -> InjectionVerdict:
    """Score ``text`` (user input bound for an LLM prompt) for prompt-injection attempts.

    Flagged when the combined score ``1 - prod(1 - weight)`` of the rules that fired reaches
    ``INJECTION_THRESHOLD``.
    """
    unfolded = unicodedata.normalize("NFKC", _FORMAT_CHARS.sub("", text))
    folded = _normalise(unfolded)
    fired = [(rule.reason, rule.weight) for rule in _RULES if rule.pattern.search(folded)]
    if _DAN.search(unfolded) and not any(reason == _JAILBREAK.reason for reason, _ in fired):
        fired.append((_JAILBREAK.reason, _JAILBREAK.weight))
    if _has_encoded_payload(unfolded):
        fired.append(("encoded-payload", _ENCODED_PAYLOAD_WEIGHT))
    remaining = 1.0
    for _, weight in fired:
        remaining *= 1.0 - weight
    score = round(1.0 - remaining, 4)
    return InjectionVerdict(
        flagged=score >= INJECTION_THRESHOLD,
        score=score,
        reasons=tuple(reason for reason, _ in fired),
    )


def _normalise(text: str) -> str:
    """Casefolded, accent-free, one whitespace character per run (a newline if the run had one)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _MARKS.sub("", unicodedata.normalize("NFD", folded))
    lines = (" ".join(line.split()) for line in folded.splitlines())
    return "\n".join(line for line in lines if line)


def _has_encoded_payload(text: str) -> bool:
    """A base64-looking run of 80+ characters outside URLs, mixing upper case, lower case and
    digits (so a hex digest or a long word is not one)."""
    if all(len(token) < _BASE64_MIN_LENGTH for token in text.split()):
        return False
    for match in _BASE64_BLOB.finditer(_URL.sub(" ", text)):
        if all(char_class.search(match.group()) for char_class in _BASE64_CLASSES):
            return True
    return False


# --- Leaks of the system prompt -----------------------------------------------------------------

LEAK_SPAN_WORDS = 8  # this many words of the system prompt in a row, in a reply, is a leak
_WORD = regex.compile(r"\w+")


class LeakGuard:
    """Watches a reply for the assistant's instructions (its system prompt) repeated word for
    word: any ``LEAK_SPAN_WORDS`` of them in a row. While a reply streams, the words that could
    be the start of such a run are held back until it is clear they are not, so a leak is
    stopped before any of it is shown; ordinary text passes at once."""

    def __init__(self, secret: str) -> None:
        words = [word.lower() for word in _WORD.findall(secret)]
        size = LEAK_SPAN_WORDS
        self.spans = {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}
        self.prefixes = {span[:length] for span in self.spans for length in range(1, size)}

    @classmethod
    def of(cls, secret: str) -> LeakGuard | None:
        """A guard for ``secret``; None when it is too short to leak."""
        guard = cls(secret)
        return guard if guard.spans else None

    def check(self, text: str) -> tuple[bool, int]:
        """Whether ``text`` leaks, and how much of it may be shown now (a character index)."""
        found = list(_WORD.finditer(text))
        words = [match.group().lower() for match in found]
        size = LEAK_SPAN_WORDS
        if any(tuple(words[i : i + size]) in self.spans for i in range(len(words) - size + 1)):
            return True, 0
        safe = len(text)
        if found and found[-1].end() == len(text):
            safe = found[-1].start()  # the last word may still be growing
        for length in range(min(size - 1, len(words)), 0, -1):
            if tuple(words[-length:]) in self.prefixes:
                safe = min(safe, found[-length].start())
                break
        return False, safe
