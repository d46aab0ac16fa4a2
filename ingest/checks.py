"""Checks on a file before it is parsed: its size, that its content is what its name says, encryption,
and that an Office file's ZIP container is sound and not a zip bomb.

Everything here reads the file's size on disk, its first bytes, a PDF's cross-reference table or a ZIP's
central directory: nothing is read whole into memory and nothing is unpacked from a ZIP. The sizes a ZIP's
directory declares bound what parsing can unpack: Python's zipfile never yields more than a member's
declared size.
"""

from __future__ import annotations

import contextlib
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ingest.errors import (
    CorruptFile,
    EmptyDocument,
    EncryptedFile,
    FileTooLarge,
    MislabelledFile,
    SuspiciousArchive,
)

MiB = 1 << 20
HEAD_BYTES = 8192
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Kind:
    """What a file's content is, in words, and the suffix it should have when Verity reads that type."""

    name: str
    suffix: str | None = None


TEXT = Kind("text")
BINARY = Kind("binary data")
ZIP = Kind("a ZIP archive")
_OFFICE = {
    ".docx": ("word/document.xml", Kind("a DOCX document", ".docx")),
    ".pptx": ("ppt/presentation.xml", Kind("a PPTX presentation", ".pptx")),
    ".xlsx": ("xl/workbook.xml", Kind("an XLSX workbook", ".xlsx")),
}
_SIGNATURES = [
    (b"%PDF-", Kind("a PDF", ".pdf")),
    (ZIP_MAGIC, ZIP),
    (b"PK\x05\x06", Kind("an empty ZIP archive")),
    (OLE_MAGIC, Kind("an OLE container (a legacy .doc, .xls or .ppt file)")),
    (b"\x89PNG\r\n\x1a\n", Kind("a PNG image")),
    (b"\xff\xd8\xff", Kind("a JPEG image")),
    (b"GIF87a", Kind("a GIF image")),
    (b"GIF89a", Kind("a GIF image")),
    (b"II*\x00", Kind("a TIFF image")),
    (b"MM\x00*", Kind("a TIFF image")),
    (b"\x1f\x8b", Kind("a gzip archive")),
    (b"7z\xbc\xaf\x27\x1c", Kind("a 7-Zip archive")),
    (b"Rar!\x1a\x07", Kind("a RAR archive")),
    (b"\x7fELF", Kind("an executable")),
]


@dataclass(frozen=True)
class FileLimits:
    """What a file may be before it is parsed: its size on disk, and its ZIP container's unpacked size."""

    max_file_bytes: int = 100 * MiB
    max_unzipped_bytes: int = 200 * MiB
    max_compression_ratio: float = 100.0
    ratio_checked_above_bytes: int = 10 * MiB


def check_size(path: Path, max_bytes: int) -> None:
    """Refuse an empty file, or one over `max_bytes`, from its size on disk alone."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyDocument(f"{path.name}: the file is empty (0 bytes); there is nothing to ingest")
    if size > max_bytes:
        raise FileTooLarge(
            f"{path.name}: {_size(size)} is over the {_size(max_bytes)} limit; "
            "split it into smaller files or raise the limit"
        )


def check_file(path: Path, limits: FileLimits) -> None:
    """Refuse a file that is empty, too large, mislabelled, corrupt, encrypted or a zip bomb."""
    check_size(path, limits.max_file_bytes)
    head = read_head(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        _check_pdf(path, head)
    elif suffix in _OFFICE:
        _check_office(path, head, limits)
    else:
        _check_text(path, head)


def read_head(path: Path) -> bytes:
    """The first bytes of a file, enough to tell its type."""
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def sniff(head: bytes) -> Kind | None:
    """What a file's first bytes say it is (a PDF, a ZIP archive, binary data...); None for text."""
    kind = next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), None)
    if kind is None and b"\x00" in head and not head.startswith(_TEXT_BOMS):
        kind = BINARY
    return kind


def content_kind(path: Path, head: bytes) -> Kind | None:
    """What a file is, from its first bytes and, for a ZIP, the names inside it; None for text."""
    kind = sniff(head)
    if kind is ZIP:
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return Kind("a damaged ZIP archive")
        kind = office_kind(names) or ZIP
    return kind


def office_kind(names: set[str]) -> Kind | None:
    """Which Office type a ZIP's member names say it is, if any."""
    return next((kind for part, kind in _OFFICE.values() if part in names), None)


def _wrong_content(path: Path, expected: str, found: Kind) -> MislabelledFile:
    advice = f"rename it to {path.stem}{found.suffix}" if found.suffix else f"export it again as {expected}"
    return MislabelledFile(f"{path.name}: the name says {expected} but the content is {found.name}; {advice}")


def _check_text(path: Path, head: bytes) -> None:
    """A text format (Markdown, HTML, CSV, plain text) must not hold a binary file."""
    found = content_kind(path, head)
    if found is not None:
        raise _wrong_content(path, f"text ({path.suffix.lower()})", found)


def _check_pdf(path: Path, head: bytes) -> None:
    if b"%PDF-" not in head[:1024]:  # the header may follow up to 1 KB of other bytes
        _refuse_other_content(path, head, "PDF")
    check_pdf_structure(path)


def _refuse_other_content(path: Path, head: bytes, expected: str) -> NoReturn:
    """Raise MislabelledFile naming what the content is, or CorruptFile when it is nothing known."""
    found = content_kind(path, head) or (TEXT if _looks_like_text(head) else BINARY)
    if found is BINARY:
        raise CorruptFile(
            f"{path.name}: does not start like a {expected} file, so it is damaged or not a {expected}; "
            "download it again or re-export it"
        )
    raise _wrong_content(path, expected, found)


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a multi-byte character cut at the end of the head
    return True


def check_pdf_structure(path: Path) -> None:
    """Open the PDF's cross-reference table with pypdf: refuse it when damaged or password-protected."""
    import pypdf

    try:
        with _quiet("pypdf"), path.open("rb") as fh:  # a file object: pypdf reads only what it needs
            reader = pypdf.PdfReader(fh)
            locked = reader.is_encrypted and not reader.decrypt("")
            pages = 0 if locked else len(reader.pages)
    except Exception as exc:  # pypdf raises many kinds (PdfReadError, ValueError, KeyError...) on damage
        raise CorruptFile(
            f"{path.name}: the PDF is damaged or incomplete ({type(exc).__name__}: {exc}); "
            "download it again or re-export it"
        ) from exc
    if locked:
        raise EncryptedFile(
            f"{path.name}: the PDF is password-protected; save a copy without the password and ingest that"
        )
    if pages == 0:
        raise CorruptFile(f"{path.name}: the PDF has no pages; download it again or re-export it")


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's warnings (pypdf's "Ignoring wrong pointing object") for a moment."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_office(path: Path, head: bytes, limits: FileLimits) -> None:
    suffix = path.suffix.lower()
    expected = suffix.lstrip(".").upper()
    if head.startswith(OLE_MAGIC) and is_encrypted_office(path):
        raise EncryptedFile(
            f"{path.name}: the {expected} file is password-protected; "
            "open it, remove the password (save a copy without one) and ingest that"
        )
    if not head.startswith(ZIP_MAGIC):
        _refuse_other_content(path, head, expected)
    found = office_kind(check_zip_container(path, limits)) or ZIP
    if found.suffix != suffix:
        raise _wrong_content(path, expected, found)


def is_encrypted_office(path: Path) -> bool:
    """Whether an OLE container is a password-protected Office file (it holds an EncryptedPackage)."""
    import msoffcrypto  # type: ignore[import-untyped]

    try:
        with path.open("rb") as fh:
            return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
    except Exception:  # not an Office file msoffcrypto knows: whatever it is, it is not an encrypted one
        return False


def check_zip_container(path: Path, limits: FileLimits) -> set[str]:
    """Read a ZIP's central directory (nothing is unpacked): refuse damage and zip bombs; names inside."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFile(
            f"{path.name}: the file is damaged or incomplete (its ZIP container cannot be read: {exc}); "
            "download it again or re-export it"
        ) from exc
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise SuspiciousArchive(
            f"{path.name}: would unpack to {_size(total)}, over the "
            f"{_size(limits.max_unzipped_bytes)} limit; refused as a possible zip bomb. "
            "If the file is genuine, split it or raise the limit"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > limits.ratio_checked_above_bytes and ratio > limits.max_compression_ratio:
            raise SuspiciousArchive(
                f"{path.name}: its part {member.filename!r} unpacks to {_size(member.file_size)} from "
                f"{_size(member.compress_size)} ({ratio:.0f}:1); refused as a possible zip bomb. "
                "If the file is genuine, remove large embedded objects from it or raise the limit"
            )
    return {m.filename for m in members}


def _size(size: int) -> str:
    """A size in bytes as people read it: 512 bytes, 34 KB, 1.5 MB."""
    if size >= MiB:
        return f"{size / MiB:.1f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"
