"""Documents into sections of text: plain text, Markdown, HTML, PDF, DOCX and CSV.

Every parser keeps the structure retrieval needs: the document's title, the path of headings over
each block of text, and blocks that are paragraphs, list items or table rows. A CSV row is one
entry of its own. A file that cannot be read raises ``Unreadable`` with a message for its owner.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from bs4 import BeautifulSoup, Tag

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".csv": "csv",
}
MAX_PDF_PAGES = 2_000
MAX_ZIP_ENTRIES = 5_000  # parts of a DOCX
MAX_ZIP_UNPACKED_BYTES = 200_000_000  # a DOCX unpacked; far above any real document
MAX_CSV_ROWS = 50_000


class Unreadable(ValueError):
    """The document cannot be read; the message says why, for the person who uploaded it."""


@dataclass
class Section:
    heading: tuple[str, ...]  # the headings above the blocks, outermost first
    blocks: list[str] = field(default_factory=list)
    atomic: bool = False  # one entry (a CSV row): never packed together with another


@dataclass
class Parsed:
    title: str
    sections: list[Section]


def document_format(name: str) -> str | None:
    """The format a file name says, or None for one that is not supported."""
    return FORMATS.get(PurePath(name).suffix.lower())


def parse(name: str, data: bytes, kind: str | None = None) -> Parsed:
    """The sections of a document; ``kind`` defaults to what its name says."""
    kind = kind or document_format(name)
    if kind is None:
        raise Unreadable(f"{name!r} is not a supported type ({', '.join(sorted(FORMATS))}).")
    if not data.strip():
        raise Unreadable("The file is empty.")
    stem = PurePath(name).stem.replace("-", " ").replace("_", " ").strip() or name
    parsed = _PARSERS[kind](data, stem)
    parsed.sections = [s for s in parsed.sections if any(b.strip() for b in s.blocks)]
    if not parsed.sections:
        raise Unreadable("The document holds no text.")
    return parsed


# --- text-like formats ----------------------------------------------------------------------
def decode_text(data: bytes) -> str:
    """Bytes of a text file as text; a binary file (say, an image renamed ``.txt``) is refused."""
    head = data[:65_536]
    if b"\x00" in head:
        raise Unreadable(
            "The file is not text (it holds binary data); upload it in its own format."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    sample = text[:65_536]
    control = sum(1 for char in sample if ord(char) < 32 and char not in "\t\n\r\f")
    if sample and (control / len(sample) > 0.01 or sample.count("\ufffd") / len(sample) > 0.01):
        raise Unreadable(
            "The file is not text (it holds binary data); upload it in its own format."
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_UNDERLINE = re.compile(r"^(=+|-+)\s*$")


class _Outline:
    """Collects blocks under the current path of headings."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.path: list[tuple[int, str]] = []
        self.lines: list[str] = []

    def heading(self, level: int, text: str) -> None:
        self.flush()
        self.path = [(lvl, t) for lvl, t in self.path if lvl < level] + [(level, text)]

    def line(self, text: str) -> None:
        self.lines.append(text)

    def block(self, text: str) -> None:
        self.flush()
        self.lines.append(text)
        self.flush()

    def flush(self) -> None:
        text = "\n".join(self.lines).strip()
        self.lines = []
        if not text:
            return
        heading = tuple(title for _, title in self.path)
        if self.sections and self.sections[-1].heading == heading:
            self.sections[-1].blocks.append(text)
        else:
            self.sections.append(Section(heading, [text]))


def _markdown(data: bytes, stem: str) -> Parsed:
    outline = _Outline()
    title = ""
    lines = decode_text(data).split("\n")
    fenced = False
    for index, raw in enumerate(lines):
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if not fenced and (match := _MD_HEADING.match(line)):
            text = _md_inline(match.group(2))
            title = title or text
            outline.heading(len(match.group(1)), text)
        elif not fenced and line.strip() and _UNDERLINE.match(following) and len(following) >= 3:
            text = _md_inline(line.strip())
            title = title or text
            outline.heading(1 if following.startswith("=") else 2, text)
        elif not fenced and _UNDERLINE.match(line.strip()) and len(line.strip()) >= 3:
            continue  # the underline of a heading handled above, or a horizontal rule
        elif not line.strip():
            outline.flush()
        elif not fenced and re.match(r"^\s*([-*+]|\d+[.)])\s+", line):
            outline.flush()  # each list item is a block of its own
            outline.line(_md_inline(re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", line)))
        else:
            outline.line(_md_inline(line.strip()) if not fenced else line)
    outline.flush()
    return Parsed(title or stem, outline.sections)


def _md_inline(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_EMPHASIS.sub("", text)
    return text.strip().lstrip(">").strip()


def _plain(data: bytes, stem: str) -> Parsed:
    """Plain text: blank lines part paragraphs; short lines in capitals, or underlined, are
    headings."""
    outline = _Outline()
    title = ""
    lines = decode_text(data).split("\n")
    for index, raw in enumerate(lines):
        line = raw.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        underlined = bool(line) and _UNDERLINE.match(following) is not None and len(following) >= 3
        capitals = (
            len(line) <= 80 and line.upper() == line and any(c.isalpha() for c in line)
        ) and not line.endswith((".", ","))
        if underlined or (capitals and len(line.split()) <= 10):
            text = line.title() if capitals and not underlined else line
            title = title or text
            outline.heading(1 if following.startswith("=") else 2, text)
        elif _UNDERLINE.match(line) and len(line) >= 3:
            continue
        elif not line:
            outline.flush()
        else:
            outline.line(line)
    outline.flush()
    return Parsed(title or stem, outline.sections)


# --- HTML -----------------------------------------------------------------------------------
_HTML_SKIP = ("script", "style", "noscript", "nav", "footer", "header", "aside", "form", "svg")
_HTML_BLOCKS = ("p", "li", "pre", "blockquote", "dt", "dd", "tr", "figcaption", "caption")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _html(data: bytes, stem: str) -> Parsed:
    soup = BeautifulSoup(decode_text(data), "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(_HTML_SKIP):
        tag.decompose()
    body = soup.body or soup
    outline = _Outline()
    for element in body.find_all([*_HEADINGS, *_HTML_BLOCKS]):
        if not isinstance(element, Tag):
            continue
        if element.find_parent(_HTML_BLOCKS):
            continue  # its text is part of the enclosing block
        if element.name in _HEADINGS:
            text = element.get_text(" ", strip=True)
            if text:
                title = title or text
                outline.heading(int(element.name[1]), text)
        elif element.name == "tr":
            outline.block(_table_row(element))
        else:
            outline.block(element.get_text(" ", strip=True))
    outline.flush()
    sections = outline.sections
    if not sections:  # a page of bare <div>s: its text, line by line
        lines = [line.strip() for line in body.get_text("\n").split("\n")]
        sections = [Section((), [line for line in lines if line])]
    return Parsed(title or stem, sections)


def _table_row(row: Tag) -> str:
    """A table row as "Header: value; ..." using its table's header cells, when it has them."""
    cells = [cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"])]
    table = row.find_parent("table")
    header = table.find("tr") if isinstance(table, Tag) else None
    if header is None or header is row or not isinstance(header, Tag):
        return " | ".join(cells)
    names = [cell.get_text(" ", strip=True) for cell in header.find_all(["td", "th"])]
    if len(names) != len(cells):
        return " | ".join(cells)
    return "; ".join(f"{name}: {value}" for name, value in zip(names, cells, strict=True) if value)


# --- PDF and DOCX ---------------------------------------------------------------------------
def _pdf(data: bytes, stem: str) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("The PDF is password-protected; upload a copy without a password.")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise Unreadable(f"The PDF has more than {MAX_PDF_PAGES} pages.")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
            if paragraphs:
                sections.append(Section((f"Page {number}",), paragraphs))
        metadata_title = (reader.metadata.title if reader.metadata else None) or ""
    except Unreadable:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as error:
        raise Unreadable(f"The PDF is damaged or not a PDF ({error}).") from error
    except NotImplementedError as error:  # an encryption pypdf cannot open
        raise Unreadable(
            "The PDF is password-protected; upload a copy without a password."
        ) from error
    if not sections:
        raise Unreadable(
            "The PDF has no text layer (scanned pages?); text recognition is not supported."
        )
    return Parsed(str(metadata_title).strip() or stem, sections)


def _zip_check(data: bytes) -> None:
    """A DOCX is a zip: refuse one that would unpack to far more than a document holds (a zip
    bomb) before anything is decompressed. Sizes come from the archive's directory, and the
    reader stops at the declared size, so a lying directory cannot unpack more either."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as error:
        raise Unreadable("The file is not a valid DOCX document.") from error
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_ZIP_UNPACKED_BYTES:
        raise Unreadable(
            f"The DOCX would unpack to {unpacked / 1_000_000:.0f} MB in {len(entries)} parts; "
            f"documents are at most {MAX_ZIP_UNPACKED_BYTES // 1_000_000} MB unpacked."
        )


def _docx(data: bytes, stem: str) -> Parsed:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _zip_check(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise Unreadable("The file is not a valid DOCX document.") from error
    outline = _Outline()
    title = document.core_properties.title or ""
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = paragraph.text.strip()
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            if not text:
                continue
            if style == "Title" or style.startswith("Heading"):
                level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
                title = title or text
                outline.heading(level, text)
            else:
                outline.block(text)
        elif tag == "tbl":
            table = Table(child, document)
            rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
            header = rows[0] if rows else []
            for cells in rows[1:]:
                pairs = zip(header, cells, strict=False)
                outline.block("; ".join(f"{name}: {value}" for name, value in pairs if value))
    outline.flush()
    return Parsed(title or stem, outline.sections)


# --- CSV ------------------------------------------------------------------------------------
def _csv(data: bytes, stem: str) -> Parsed:
    """One entry per row, each field named by the header: "question: …\\nanswer: …"."""
    text = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as error:
        raise Unreadable(f"The CSV cannot be read ({error}).") from error
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise Unreadable("The CSV has no rows under its header.")
    if len(rows) > MAX_CSV_ROWS + 1:
        raise Unreadable(f"The CSV has more than {MAX_CSV_ROWS} rows.")
    header = [name.strip() or f"column {i + 1}" for i, name in enumerate(rows[0])]
    sections = []
    for row in rows[1:]:
        fields = [
            f"{name}: {value.strip()}"
            for name, value in zip(header, row, strict=False)
            if value.strip()
        ]
        sections.append(Section((), ["\n".join(fields)], atomic=True))
    return Parsed(stem, sections)


_PARSERS = {
    "text": _plain,
    "markdown": _markdown,
    "html": _html,
    "pdf": _pdf,
    "docx": _docx,
    "csv": _csv,
}
