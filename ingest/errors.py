"""Errors raised by the ingest package.

IngestError
├── UnsupportedFile       a file type Verity does not read
├── UnreadableFile        a file of a supported type that could not be parsed (corrupt, encrypted...)
└── EmptyDocument         a file that parsed but holds no text (a scanned PDF without OCR, an empty file)
"""


class IngestError(Exception):
    """Base of every error the ingest package raises; the message says what to do."""


class UnsupportedFile(IngestError):
    """The file's type is not one Verity reads."""


class UnreadableFile(IngestError):
    """The file could not be parsed."""


class EmptyDocument(IngestError):
    """The file holds no extractable text."""
