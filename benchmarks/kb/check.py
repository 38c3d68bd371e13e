#!/usr/bin/env python3
"""Validate the Brightwave knowledge-base benchmark set (stdlib only).

Checks:
  * every document can be read; HTML is reduced to text (tags stripped,
    entities unescaped), CSV must parse with a header row and even rows;
  * every line of questions.jsonl is a JSON object with a non-empty
    "question" string and an "answers" list of 0-3 non-empty strings of at
    most 60 characters;
  * every answer string occurs (case-insensitive) in at least one document;
  * every document is pointed at by at least 2 questions (a question points at
    the documents containing any of its answers).

Warnings (do not fail the run): an answer found in more than 2 documents, an
answer that matches only after collapsing whitespace (it spans a line break),
duplicate questions, documents outside 300-1500 words, and set sizes below the
targets (34 documents, 140 answerable, 30 unanswerable questions).

The report lists, for every answer string, how many documents contain it, and
for every document its format, word count and the number of questions pointing
at it; --quiet prints only problems and the summary.

Usage: python3 benchmarks/kb/check.py [--docs DIR] [--questions FILE] [-q]
Exit status: 0 when there are no errors, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMATS = {".md": "markdown", ".html": "html", ".htm": "html", ".txt": "text", ".csv": "csv"}
MAX_ANSWER_CHARS = 60
MAX_ANSWERS = 3
WARN_DOC_SPREAD = 2
MIN_QUESTIONS_PER_DOC = 2
WORDS_MIN, WORDS_MAX = 300, 1500
TARGETS = {"documents": 34, "answerable": 140, "unanswerable": 30}

BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "ul",
}


class _TextExtractor(HTMLParser):
    """Collects visible text; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # unescapes entities
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(raw: str) -> str:
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


class Report:
    def __init__(self, quiet: bool) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.quiet = quiet

    def error(self, msg: str) -> None:
        self.errors.append(msg)
        print(f"ERROR: {msg}")

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)
        print(f"WARNING: {msg}")

    def info(self, msg: str) -> None:
        if not self.quiet:
            print(msg)


def load_documents(docs_dir: Path, rep: Report) -> dict[str, tuple[str, str]]:
    """Return {file name: (format, text)}."""
    docs: dict[str, tuple[str, str]] = {}
    if not docs_dir.is_dir():
        rep.error(f"documents folder not found: {docs_dir}")
        return docs
    for path in sorted(p for p in docs_dir.rglob("*") if p.is_file()):
        name = str(path.relative_to(docs_dir))
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            rep.error(f"{name}: unsupported file type {path.suffix!r}")
            continue
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            rep.error(f"{name}: cannot read as UTF-8 ({exc})")
            continue
        if fmt == "html":
            if not re.search(r"<title>.*?</title>", raw, re.S | re.I):
                rep.warn(f"{name}: HTML page has no <title>")
            text = html_to_text(raw)
        else:
            text = raw
        if fmt == "csv":
            check_csv(name, raw, rep)
        if not text.strip():
            rep.error(f"{name}: document is empty")
            continue
        words = len(text.split())
        if not WORDS_MIN <= words <= WORDS_MAX:
            rep.warn(f"{name}: {words} words (expected {WORDS_MIN}-{WORDS_MAX})")
        docs[name] = (fmt, text)
    return docs


def check_csv(name: str, raw: str, rep: Report) -> None:
    try:
        rows = list(csv.reader(io.StringIO(raw)))
    except csv.Error as exc:
        rep.error(f"{name}: CSV does not parse ({exc})")
        return
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        rep.error(f"{name}: CSV needs a header row and at least one entry")
        return
    header = rows[0]
    if len(set(header)) != len(header) or not all(h.strip() for h in header):
        rep.error(f"{name}: CSV header has empty or duplicate columns: {header}")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            rep.error(f"{name}: CSV row {i} has {len(row)} fields, header has {len(header)}")
    rep.info(f"{name}: {len(rows) - 1} CSV rows, columns {header}")


def load_questions(path: Path, rep: Report) -> list[tuple[int, str, list[str]]]:
    questions: list[tuple[int, str, list[str]]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        rep.error(f"cannot read questions file {path}: {exc}")
        return questions
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            rep.warn(f"questions line {lineno}: blank line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rep.error(f"questions line {lineno}: invalid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            rep.error(f"questions line {lineno}: not a JSON object")
            continue
        extra = set(obj) - {"question", "answers"}
        if extra:
            rep.warn(f"questions line {lineno}: unexpected keys {sorted(extra)}")
        q = obj.get("question")
        answers = obj.get("answers")
        if not isinstance(q, str) or not q.strip():
            rep.error(f"questions line {lineno}: 'question' must be a non-empty string")
            continue
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            rep.error(f"questions line {lineno}: 'answers' must be a list of strings")
            continue
        if len(answers) > MAX_ANSWERS:
            rep.error(f"questions line {lineno}: {len(answers)} answers (max {MAX_ANSWERS})")
        for a in answers:
            if not a.strip():
                rep.error(f"questions line {lineno}: empty answer string")
            elif len(a) > MAX_ANSWER_CHARS:
                rep.error(
                    f"questions line {lineno}: answer longer than {MAX_ANSWER_CHARS} chars: {a!r}"
                )
            elif a != a.strip():
                rep.warn(f"questions line {lineno}: answer has surrounding whitespace: {a!r}")
        questions.append((lineno, q, [a for a in answers if a.strip()]))
    return questions


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=HERE / "docs")
    ap.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    ap.add_argument(
        "-q", "--quiet", action="store_true", help="print only problems and the summary"
    )
    args = ap.parse_args(argv)
    rep = Report(args.quiet)

    docs = load_documents(args.docs, rep)
    questions = load_questions(args.questions, rep)

    lowered = {name: text.lower() for name, (_, text) in docs.items()}
    collapsed = {name: collapse(text) for name, (_, text) in docs.items()}

    # Which documents contain each answer string.
    answer_docs: dict[str, list[str]] = {}
    for _, _, answers in questions:
        for a in answers:
            key = a.lower()
            if key in answer_docs:
                continue
            exact = [n for n, t in lowered.items() if key in t]
            if exact:
                answer_docs[key] = exact
                continue
            loose = [n for n, t in collapsed.items() if collapse(a) in t]
            if loose:
                rep.warn(f"answer {a!r} matches only across a line break in {loose}")
            answer_docs[key] = loose

    pointers: Counter[str] = Counter()
    seen_questions: dict[str, int] = {}
    answerable = unanswerable = 0
    for lineno, q, answers in questions:
        norm_q = collapse(q)
        if norm_q in seen_questions:
            rep.warn(f"questions line {lineno}: duplicate of line {seen_questions[norm_q]}: {q!r}")
        else:
            seen_questions[norm_q] = lineno
        if not answers:
            unanswerable += 1
            continue
        answerable += 1
        targets: set[str] = set()
        for a in answers:
            found = answer_docs.get(a.lower(), [])
            if not found:
                rep.error(
                    f"questions line {lineno}: answer {a!r} not found in any document (question: {q!r})"
                )
            elif len(found) > WARN_DOC_SPREAD:
                rep.warn(
                    f"questions line {lineno}: answer {a!r} occurs in {len(found)} documents: {', '.join(found)}"
                )
            targets.update(found)
        pointers.update(targets)

    if not args.quiet:
        print("\nAnswer strings (lower-cased) and the documents containing them:")
        for key, found in sorted(answer_docs.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            print(f"  {len(found):2d}  {key!r}  {', '.join(found)}")
        print("\nDocuments (format, words, questions pointing at it):")
        for name, (fmt, text) in docs.items():
            print(
                f"  {name:40s} {fmt:9s} {len(text.split()):5d} words {pointers[name]:3d} questions"
            )

    for name in docs:
        if pointers[name] < MIN_QUESTIONS_PER_DOC:
            rep.error(
                f"{name}: only {pointers[name]} question(s) point at this document (need {MIN_QUESTIONS_PER_DOC})"
            )

    by_format = Counter(fmt for fmt, _ in docs.values())
    spread = Counter(min(len(f), 3) for f in answer_docs.values())
    if len(docs) < TARGETS["documents"]:
        rep.warn(f"only {len(docs)} documents (target {TARGETS['documents']})")
    if answerable < TARGETS["answerable"]:
        rep.warn(f"only {answerable} answerable questions (target {TARGETS['answerable']})")
    if unanswerable < TARGETS["unanswerable"]:
        rep.warn(f"only {unanswerable} unanswerable questions (target {TARGETS['unanswerable']})")

    print("\nSummary")
    print(
        f"  documents: {len(docs)} ("
        + ", ".join(f"{fmt}: {n}" for fmt, n in sorted(by_format.items()))
        + ")"
    )
    print(f"  questions: {len(questions)} (answerable: {answerable}, unanswerable: {unanswerable})")
    print(
        f"  distinct answer strings: {len(answer_docs)} (in 1 doc: {spread[1]}, in 2 docs: {spread[2]}, "
        f"in 3+ docs: {spread[3]}, not found: {spread[0]})"
    )
    low = min((pointers[n] for n in docs), default=0)
    print(f"  questions per document: min {low}, max {max((pointers[n] for n in docs), default=0)}")
    print(f"  errors: {len(rep.errors)}, warnings: {len(rep.warnings)}")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main())
