"""Errors raised by the ingest package; each message starts with the file's name and says what to do.

IngestError
├── UnsupportedFile       a file type Verity does not read
├── FileTooLarge          a file over the size limit, refused before it is read
├── UnreadableFile        a file of a supported type that could not be parsed
│   ├── CorruptFile       damaged or incomplete (a truncated download, a broken export)
│   ├── EncryptedFile     password-protected (an encrypted PDF, an encrypted Office file)
│   ├── MislabelledFile   the content is of another type than the name says (a ZIP called .pdf)
│   └── SuspiciousArchive an Office file whose ZIP would unpack to far more than it holds (a zip bomb)
├── EmptyDocument         a file that parsed but holds no text (an empty file, a scan with no OCR)
└── DuplicateDocument     a changed file whose older version is filed, under the duplicate policy "fail"
"""


class IngestError(Exception):
    """Base of every error the ingest package raises; the message says what to do."""


class UnsupportedFile(IngestError):
    """The file's type is not one Verity reads."""


class FileTooLarge(IngestError):
    """The file is larger than the configured limit."""


class UnreadableFile(IngestError):
    """The file could not be parsed."""


class CorruptFile(UnreadableFile):
    """The file is damaged or incomplete."""


class EncryptedFile(UnreadableFile):
    """The file is password-protected."""


class MislabelledFile(UnreadableFile):
    """The file's content is not of the type its name says."""


class SuspiciousArchive(UnreadableFile):
    """The file's ZIP container would unpack to more than the limits allow."""


class EmptyDocument(IngestError):
    """The file holds no extractable text."""


class DuplicateDocument(IngestError):
    """Another version of the file is already filed, and the duplicate policy says to fail."""
