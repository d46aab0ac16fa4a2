"""Write the two binary files of the tests' corpus, `corpus/handbook.docx` and `corpus/overview.pdf`.

    python tests/data/make_corpus.py

Only the standard library: a DOCX is a zip of three XML parts, and a one-page PDF with a built-in
font is a few objects and a cross-reference table. The files are committed; rerun this after editing
the paragraphs below. The written bytes do not depend on the clock (fixed zip timestamps).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

CORPUS = Path(__file__).resolve().parent / "corpus"

HANDBOOK: list[tuple[str, str]] = [
    ("Title", "Operations handbook"),
    ("Heading1", "API keys"),
    ("Normal", "Every request carries an API key in the Authorization header. A key belongs to one tenant."),
    ("Normal", "Create a key with the command verity keys create; the key is shown once and never again."),
    ("Heading1", "Credits"),
    ("Normal", "Each tenant holds credits. An answer reserves its largest possible cost before it starts."),
    ("Normal", "When the answer ends, the reservation is settled at the tokens actually used."),
]

OVERVIEW: list[str] = [
    "Verity at a glance",
    "Safety checks run before and after the language model.",
    "Questions are screened for prompt injection and personal data.",
    "Answers are checked so that every citation points at a real passage.",
    "A blocked request gets a refusal with the reason, never a silent failure.",
]

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/>'
    "</Relationships>"
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def write_docx(path: Path, paragraphs: list[tuple[str, str]]) -> None:
    """Write a minimal DOCX whose paragraphs carry the given built-in styles."""
    body = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t>{escape(text)}</w:t></w:r></w:p>'
        for style, text in paragraphs
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _RELS),
            ("word/document.xml", document),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF with the lines in Helvetica, the first as a larger heading."""
    ops = ["BT", "/F1 18 Tf", "72 720 Td", f"({lines[0]}) Tj", "/F1 12 Tf"]
    for line in lines[1:]:
        ops += ["0 -24 Td", f"({line}) Tj"]
    stream = "\n".join([*ops, "ET"]).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def main() -> None:
    """Write both files beside the text files of the corpus."""
    write_docx(CORPUS / "handbook.docx", HANDBOOK)
    (CORPUS / "overview.pdf").write_bytes(pdf_bytes(OVERVIEW))


if __name__ == "__main__":
    main()
