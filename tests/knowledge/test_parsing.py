"""Each document type comes out as headed sections; what cannot be read says why."""

from __future__ import annotations

import pytest

from knowledge.parsing import Unreadable, parse
from tests.knowledge.conftest import docx_bytes, encrypted_pdf_bytes, pdf_bytes

MARKDOWN = b"""# Sweep S5 guide

Intro paragraph about the **robot** vacuum.

## Charging

Place it on the [dock](https://example.com/dock).
- The light turns green when full.
- A full charge takes 4 hours.

```
code stays as it is
```

Resetting
---------

Hold the power button for 10 seconds.
"""


def test_markdown_keeps_the_heading_path_over_each_block():
    parsed = parse("guide.md", MARKDOWN)

    assert parsed.title == "Sweep S5 guide"
    sections = {section.heading: section.blocks for section in parsed.sections}
    assert sections[("Sweep S5 guide",)] == ["Intro paragraph about the robot vacuum."]
    assert sections[("Sweep S5 guide", "Charging")] == [
        "Place it on the dock.",
        "The light turns green when full.",
        "A full charge takes 4 hours.",
        "code stays as it is",
    ]
    assert sections[("Sweep S5 guide", "Resetting")] == ["Hold the power button for 10 seconds."]


def test_html_reads_the_content_and_leaves_out_navigation_and_scripts():
    page = b"""<html><head><title>Store hours</title><script>var x = 'tracking';</script></head>
    <body><nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
    <h1>Our stores</h1><p>We are open <b>9am to 6pm</b> on weekdays.</p>
    <table><tr><th>City</th><th>Phone</th></tr><tr><td>Leeds</td><td>0113 496 0000</td></tr></table>
    <footer>Copyright Brightwave</footer></body></html>"""

    parsed = parse("stores.html", page)

    assert parsed.title == "Store hours"
    (section,) = parsed.sections
    assert section.heading == ("Our stores",)
    assert section.blocks == [
        "We are open 9am to 6pm on weekdays.",
        "City | Phone",
        "City: Leeds; Phone: 0113 496 0000",
    ]
    text = " ".join(section.blocks)
    assert "tracking" not in text
    assert "Shop" not in text
    assert "Copyright" not in text


def test_plain_text_headings_are_capital_or_underlined_lines():
    text = b"WARRANTY TERMS\n\nThe T2 has a 3-year warranty.\n\nClaims\n======\nCall us.\n"

    parsed = parse("warranty.txt", text)

    assert [s.heading for s in parsed.sections] == [("Warranty Terms",), ("Claims",)]
    assert parsed.sections[0].blocks == ["The T2 has a 3-year warranty."]


def test_each_csv_row_is_one_entry_named_by_the_header():
    data = b"question,answer\nDo you ship abroad?,Only in the EU.\nCan I pay later?,Yes.\n"

    parsed = parse("faq.csv", data)

    assert [s.atomic for s in parsed.sections] == [True, True]
    assert parsed.sections[1].blocks == ["question: Can I pay later?\nanswer: Yes."]


def test_pdf_pages_become_sections():
    parsed = parse("manual.pdf", pdf_bytes("The filter lasts 6 months.", "Call 0800 123."))

    assert [s.heading for s in parsed.sections] == [("Page 1",), ("Page 2",)]
    assert parsed.sections[0].blocks == ["The filter lasts 6 months."]


def test_docx_headings_paragraphs_and_tables():
    parsed = parse("returns.docx", docx_bytes())

    assert parsed.title == "Returns policy"
    assert parsed.sections[1].heading == ("Returns policy", "Refunds")
    assert "Item: Opened vacuum; Restocking fee: 15%" in parsed.sections[1].blocks


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "The file is empty."),
        ("blank.md", b"  \n\n ", "The file is empty."),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20, "not text"),
        ("locked.pdf", encrypted_pdf_bytes("secret plans"), "password-protected"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "damaged"),
        ("fake.docx", b"PK\x03\x04 not a zip at all", "not a valid DOCX"),
        ("only-header.csv", b"question,answer\n", "no rows"),
        ("slides.pptx", b"whatever", "not a supported type"),
    ],
)
def test_unreadable_documents_say_why(name, data, message):
    with pytest.raises(Unreadable, match=message):
        parse(name, data)


def test_text_in_a_legacy_encoding_is_read():
    parsed = parse("notes.txt", "Caf\u00e9 opening hours: 8\u201318.".encode("cp1252"))

    assert parsed.sections[0].blocks == ["Caf\u00e9 opening hours: 8\u201318."]


def zip_bomb(unpacked_mb: int) -> bytes:
    """A DOCX-shaped zip whose one part unpacks to ``unpacked_mb`` MB of zeros."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as part:
            for _ in range(unpacked_mb):
                part.write(bytes(1_000_000))
    return buffer.getvalue()


def test_a_zip_bomb_posing_as_a_docx_is_refused_before_it_is_unpacked(monkeypatch):
    monkeypatch.setattr("knowledge.parsing.MAX_ZIP_UNPACKED_BYTES", 20_000_000)
    bomb = zip_bomb(60)
    assert len(bomb) < 200_000  # a few hundred KB that would unpack to 60 MB

    with pytest.raises(
        Unreadable, match="would unpack to 60 MB in 2 parts; documents are at most 20 MB"
    ):
        parse("bomb.docx", bomb)


def test_an_xml_bomb_in_a_docx_expands_nothing():
    """Entities are not resolved: "billion laughs" stays a few bytes of text."""
    import io
    import zipfile

    laughs = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )
    source = io.BytesIO(docx_bytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as bomb:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "word/document.xml":
                body = data.decode().split("?>", 1)[1]
                data = (laughs + body.replace("Refunds", "Refunds &d;", 1)).encode()
            bomb.writestr(item, data)

    try:
        parsed = parse("laughs.docx", buffer.getvalue())
    except Unreadable:
        return  # refusing it is as good
    text = " ".join(block for section in parsed.sections for block in section.blocks)
    assert "hahaha" not in text
