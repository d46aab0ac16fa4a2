"""Bad input: each way a file can be wrong raises its own IngestError, whose message starts with the file's
name and says what to do; a failing file leaves what is already stored untouched."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pypdf
import pytest
from msoffcrypto.format.ooxml import OOXMLFile  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont
from unstructured.documents.elements import NarrativeText

from ingest import loaders
from ingest.checks import FileLimits, check_size, sniff
from ingest.errors import (
    CorruptFile,
    EmptyDocument,
    EncryptedFile,
    FileTooLarge,
    IngestError,
    MislabelledFile,
    SuspiciousArchive,
    UnreadableFile,
    UnsupportedFile,
)
from ingest.loaders import load_blocks
from ingest.pipeline import IngestPipeline
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Scope

MiB = 1 << 20
EMBEDDER = HashingEmbedder(dimension=32)
FAISS = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)
OFFICE = ["word_sample.docx", "powerpoint_sample.pptx", "xlsx_01.xlsx"]


def raises(path: Path, kind: type[IngestError], *words: str, limits: FileLimits | None = None) -> str:
    """load_blocks fails with exactly this kind; the message starts with the file name and holds `words`."""
    with pytest.raises(IngestError) as caught:
        load_blocks(path, limits)
    assert type(caught.value) is kind, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert message.startswith(f"{path.name}: "), message
    for word in words:
        assert word in message, message
    return message


def copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def truncated(source: Path, target: Path, fraction: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def image_only_pdf(path: Path, text: str = "") -> Path:
    """A one-page PDF that is a picture (of `text`, when given): no text layer."""
    image = Image.new("RGB", (1200, 400), "white")
    if text:
        ImageDraw.Draw(image).text((60, 150), text, fill="black", font=ImageFont.load_default(size=72))
    image.save(path)
    return path


def encrypted_pdf(source: Path, target: Path, user_password: str) -> Path:
    writer = pypdf.PdfWriter(clone_from=source)
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    writer.write(target)
    return target


def office_with_extra_part(source: Path, target: Path, name: str, data: bytes) -> Path:
    """A copy of a real Office file with one more ZIP member."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            out.writestr(item, src.read(item))
        out.writestr(name, data)
    return target


# --- empty, unsupported, too large ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.pdf", "empty.docx", "empty.xlsx", "empty.md", "empty.csv"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    raises(path, EmptyDocument, "empty", "nothing to ingest")


@pytest.mark.parametrize("name", ["slides.key", "photo.jpg", "archive.zip", "Makefile"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"anything")
    raises(path, UnsupportedFile, "unsupported file type", "Verity reads")


def test_oversize_file_is_refused_from_its_size_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "huge.pdf"
    with path.open("wb") as fh:
        fh.truncate(101 * MiB)  # sparse: nothing is written, and nothing may be read
    message = raises(path, FileTooLarge, "101.0 MB", "100.0 MB limit", "split")
    assert "raise the limit" in message


def test_size_limit_is_a_parameter(tmp_path: Path, docs_mixed: Path) -> None:
    path = copy(docs_mixed / "wiki.md", tmp_path / "wiki.md")
    raises(path, FileTooLarge, "over the 1 KB limit", limits=FileLimits(max_file_bytes=1024))
    assert load_blocks(path, FileLimits(max_file_bytes=path.stat().st_size))
    with pytest.raises(FileTooLarge):
        check_size(path, path.stat().st_size - 1)


# --- corrupt and truncated ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multi_page.pdf", "redp5110_sampled.pdf", *OFFICE])
def test_truncated_real_file_is_corrupt(tmp_path: Path, docs_mixed: Path, name: str) -> None:
    path = truncated(docs_mixed / name, tmp_path / name)
    raises(path, CorruptFile, "damaged or incomplete", "download it again or re-export it")


@pytest.mark.parametrize("fraction", [0.1, 0.9, 0.99])
def test_pdf_truncated_anywhere_is_corrupt_not_an_empty_scan(
    tmp_path: Path, docs_mixed: Path, fraction: float
) -> None:
    path = truncated(docs_mixed / "2305.03393v1-pg9.pdf", tmp_path / "paper.pdf", fraction)
    message = raises(path, CorruptFile, "the PDF is damaged or incomplete")
    assert "text layer" not in message


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".pptx", ".xlsx"])
def test_random_bytes_are_corrupt(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(b"\xfe\x81" + np.random.default_rng(7).bytes(4096))
    raises(path, CorruptFile, "damaged")


@pytest.mark.parametrize("suffix", [".pdf", ".docx"])
def test_right_header_with_garbage_after_it_is_corrupt(tmp_path: Path, suffix: str) -> None:
    header = b"%PDF-1.7\n" if suffix == ".pdf" else b"PK\x03\x04"
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(header + np.random.default_rng(3).bytes(4096))
    raises(path, CorruptFile, "damaged")


def test_damaged_member_inside_a_sound_zip_is_corrupt(tmp_path: Path, docs_mixed: Path) -> None:
    source = docs_mixed / "word_sample.docx"
    with zipfile.ZipFile(source) as archive:
        member = archive.getinfo("word/document.xml")
    data = bytearray(source.read_bytes())
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    for i in range(start + 10, start + min(member.compress_size - 10, 400)):
        data[i] ^= 0x5A
    path = tmp_path / "damaged.docx"
    path.write_bytes(bytes(data))
    raises(path, CorruptFile, "cannot be parsed", "save or export it again")


# --- encrypted ------------------------------------------------------------------------------------


def test_password_protected_pdf(tmp_path: Path, docs_mixed: Path) -> None:
    path = encrypted_pdf(docs_mixed / "multi_page.pdf", tmp_path / "locked.pdf", user_password="s3cret")
    message = raises(path, EncryptedFile, "password-protected", "without the password")
    assert isinstance(EncryptedFile(message), UnreadableFile)  # the HTTP layer answers 422 for it


def test_pdf_with_only_an_owner_password_still_loads(tmp_path: Path, docs_mixed: Path) -> None:
    path = encrypted_pdf(docs_mixed / "multi_page.pdf", tmp_path / "no-print.pdf", user_password="")
    assert "Word Processor" in " ".join(b.text for b in load_blocks(path))


@pytest.mark.parametrize("name", OFFICE)
def test_password_protected_office_file(tmp_path: Path, docs_mixed: Path, name: str) -> None:
    path = tmp_path / f"locked{Path(name).suffix}"
    with (docs_mixed / name).open("rb") as plain, path.open("wb") as out:
        OOXMLFile(plain).encrypt("s3cret", out)
    expected = Path(name).suffix.lstrip(".").upper()
    raises(path, EncryptedFile, f"the {expected} file is password-protected", "remove the password")


# --- mislabelled ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name", "found", "advice"),
    [
        ("multi_page.pdf", "report.txt", "a PDF", "rename it to report.pdf"),
        ("word_sample.docx", "notes.md", "a DOCX document", "rename it to notes.docx"),
        ("xlsx_01.xlsx", "page.html", "an XLSX workbook", "rename it to page.xlsx"),
        ("xlsx_01.xlsx", "letter.docx", "an XLSX workbook", "rename it to letter.xlsx"),
        ("powerpoint_sample.pptx", "sheet.xlsx", "a PPTX presentation", "rename it to sheet.pptx"),
        ("word_sample.docx", "paper.pdf", "a DOCX document", "rename it to paper.docx"),
        ("table_01.html", "scan.pdf", "text", "export it again as PDF"),
        ("duck.md", "deck.pptx", "text", "export it again as PPTX"),
    ],
)
def test_content_of_another_type_than_the_name(
    tmp_path: Path, docs_mixed: Path, source: str, name: str, found: str, advice: str
) -> None:
    path = copy(docs_mixed / source, tmp_path / name)
    raises(path, MislabelledFile, "the name says", f"but the content is {found};", advice)


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "a PNG image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "a JPEG image"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "an executable"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 64, "a gzip archive"),
        (b"plain start then\x00\x01\x02 binary", "binary data"),
    ],
)
def test_binary_content_in_a_text_format(tmp_path: Path, data: bytes, found: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    raises(path, MislabelledFile, "the name says text (.txt)", found)


def test_zip_that_is_no_office_file(tmp_path: Path) -> None:
    path = tmp_path / "bundle.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    raises(path, MislabelledFile, "the name says DOCX but the content is a ZIP archive", "export it again")


@pytest.mark.parametrize("name", ["mixed.md", "wiki.md", "duck.md", "example_03.html", "csv-comma.csv"])
def test_text_formats_of_docs_mixed_are_not_mislabelled(docs_mixed: Path, name: str) -> None:
    assert sniff((docs_mixed / name).read_bytes()[:8192]) is None
    assert load_blocks(docs_mixed / name)


@pytest.mark.parametrize(
    "data",
    [
        b"A note about PDFs: every file starts with %PDF-1.7 and ends with %%EOF.\n",
        "\ufeffUTF-8 with a byte order mark.\n".encode(),
        "Text in UTF-16 with its byte order mark.\n".encode("utf-16"),
        "Café, naïve, 東京: UTF-8 beyond ASCII.\n".encode(),
    ],
)
def test_unusual_but_genuine_text_is_accepted(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(data)
    assert load_blocks(path)


# --- zip bombs ------------------------------------------------------------------------------------


def test_zip_bomb_docx_is_refused_by_its_compression_ratio(tmp_path: Path, docs_mixed: Path) -> None:
    path = office_with_extra_part(
        docs_mixed / "word_sample.docx", tmp_path / "bomb.docx", "word/media/filler.bin", b"\0" * (12 * MiB)
    )
    assert path.stat().st_size < MiB
    message = raises(path, SuspiciousArchive, "'word/media/filler.bin'", "zip bomb", "12.0 MB")
    assert ":1)" in message


def test_zip_bomb_is_refused_by_its_total_unpacked_size(tmp_path: Path, docs_mixed: Path) -> None:
    path = office_with_extra_part(
        docs_mixed / "xlsx_01.xlsx", tmp_path / "big.xlsx", "xl/media/filler.bin", b"\0" * (3 * MiB)
    )
    limits = FileLimits(max_unzipped_bytes=2 * MiB)
    raises(path, SuspiciousArchive, "would unpack to 3.", "over the 2.0 MB limit", "zip bomb", limits=limits)


def test_well_compressed_but_small_member_is_accepted(tmp_path: Path, docs_mixed: Path) -> None:
    path = office_with_extra_part(
        docs_mixed / "word_sample.docx", tmp_path / "ok.docx", "word/media/pad.bin", b"\0" * (2 * MiB)
    )
    assert load_blocks(path)


# --- scanned PDFs and OCR --------------------------------------------------------------------------


def test_pdf_without_a_text_layer_says_ocr_needs_tesseract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = image_only_pdf(tmp_path / "scan.pdf", "Invoice 4711")
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    raises(path, EmptyDocument, "no text layer", "tesseract", "apt-get install tesseract-ocr poppler-utils")


def test_pdf_without_a_text_layer_is_read_again_with_ocr_when_tesseract_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = image_only_pdf(tmp_path / "scan.pdf")
    strategies: list[str] = []
    real = loaders.partition_file

    def partition(p: Path, strategy: str) -> list[Any]:
        strategies.append(strategy)
        return real(p, strategy) if strategy == "fast" else [NarrativeText(text="Invoice 4711 from OCR")]

    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: f"/usr/bin/{name}")
    monkeypatch.setattr(loaders, "partition_file", partition)
    blocks = load_blocks(path)
    assert strategies == ["fast", "ocr_only"]
    assert [b.text for b in blocks] == ["Invoice 4711 from OCR"]


def test_ocr_that_finds_nothing_is_an_empty_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = image_only_pdf(tmp_path / "blank.pdf")
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: f"/usr/bin/{name}")
    monkeypatch.setattr(loaders, "partition_file", lambda p, strategy: [])
    raises(path, EmptyDocument, "no text layer", "OCR found no text")


def test_text_formats_are_never_sent_to_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "blank.md"
    path.write_text("   \n\n", encoding="utf-8")
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: pytest.fail("OCR looked for"))
    raises(path, EmptyDocument, "no text could be extracted")


def test_real_ocr_reads_a_scanned_pdf(tmp_path: Path) -> None:
    missing = [tool for tool in ("tesseract", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"real OCR needs {' and '.join(missing)} on PATH (apt-get install tesseract-ocr poppler-utils)"
        )
    path = image_only_pdf(tmp_path / "scan.pdf", "Invoice 4711")
    assert "4711" in " ".join(b.text for b in load_blocks(path))


# --- nothing stored changes when a file fails ----------------------------------------------------------


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ChunkIndex]:
    catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
    yield ChunkIndex(tmp_path / "index", catalog, FAISS, EMBEDDER.dimension)
    catalog.close()


def stored(index: ChunkIndex) -> tuple[int, list[tuple[str, str]], dict[int, str]]:
    documents = [(d.id, d.content_hash) for d in index.catalog.list_documents(Scope())]
    chunks = index.chunks(index.catalog.chunk_ids(Scope()))
    return index.version, sorted(documents), {i: c.text for i, c in chunks.items()}


@pytest.mark.parametrize("damage", ["truncate", "encrypt", "bomb", "mislabel", "empty", "oversize"])
def test_a_stored_file_that_goes_bad_leaves_the_index_as_it_was(
    tmp_path: Path, docs_mixed: Path, index: ChunkIndex, damage: str
) -> None:
    pipeline = IngestPipeline(index, EMBEDDER, chunk_tokens=64, limits=FileLimits(max_file_bytes=2 * MiB))
    folder = tmp_path / "docs"
    folder.mkdir()
    path = copy(docs_mixed / "word_tables.docx", folder / "tables.docx")
    copy(docs_mixed / "wiki.md", folder / "wiki.md")
    assert pipeline.ingest([folder]).count("added") == 2
    before = stored(index)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "encrypt":
        out = io.BytesIO()
        OOXMLFile(io.BytesIO(good)).encrypt("pw", out)
        path.write_bytes(out.getvalue())
    elif damage == "bomb":
        office_with_extra_part(docs_mixed / "word_tables.docx", path, "word/x.bin", b"\0" * (11 * MiB))
    elif damage == "mislabel":
        copy(docs_mixed / "xlsx_01.xlsx", path)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with path.open("ab") as fh:
            fh.truncate(3 * MiB)
    report = pipeline.ingest([folder])
    assert {Path(o.path).name: o.status for o in report.outcomes} == {
        "tables.docx": "failed",
        "wiki.md": "unchanged",
    }
    (failure,) = report.failed
    assert failure.error is not None and str(failure.error).startswith("tables.docx: ")
    assert stored(index) == before


def test_oversize_file_is_refused_before_it_is_hashed_or_loaded(
    tmp_path: Path, index: ChunkIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, encoding="utf-8")

    def never(p: Path) -> Any:
        pytest.fail(f"{p.name} was read")

    monkeypatch.setattr("ingest.pipeline.content_hash", never)
    pipeline = IngestPipeline(index, EMBEDDER, loader=never, limits=FileLimits(max_file_bytes=1000))
    (outcome,) = pipeline.ingest([path]).outcomes
    assert outcome.status == "failed" and isinstance(outcome.error, FileTooLarge)
    assert index.catalog.list_documents(Scope()) == []
