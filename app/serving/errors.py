"""Errors of the serving layer's use cases: what a caller asked for that is not there, or an upload
refused before anything is stored. `app/http/errors.py` maps each to its status; `param` names the field.

ServingError
├── InvalidRequest      400: a request whose fields do not go together (`param` names the one to fix)
├── InvalidFileName     400: an uploaded file's name is empty, too long or holds control characters
├── UploadTooLarge      413: an upload above the size limit (VERITY_MAX_UPLOAD_MB)
├── CollectionNotFound  404: no collection of that name for the caller
├── DocumentMissing     404: no document with that id for the caller
├── FileNotKept         404: the document's original file is not kept (ingested from the command line)
├── JobNotFound         404: no ingest job with that id for the caller
├── PassageNotFound     404: no passage with that id for the caller (or its document is deleted)
└── MessageNotFound     404: no answer with that id in the caller's conversation
"""

from __future__ import annotations


class ServingError(Exception):
    """Base of the serving layer's errors: a message a person can act on and the field it is about."""

    param: str | None = None

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        if param is not None:
            self.param = param


class InvalidRequest(ServingError):
    """A request whose fields do not go together."""


class InvalidFileName(ServingError):
    """An uploaded file's name breaks the file-name rule."""

    param = "file"


class UploadTooLarge(ServingError):
    """An uploaded file is larger than the size limit."""

    param = "file"


class CollectionNotFound(ServingError):
    """No collection of that name for the caller."""

    param = "collection"


class DocumentMissing(ServingError):
    """No document with that id for the caller."""

    param = "document_id"


class FileNotKept(ServingError):
    """The document's original file is not kept."""

    param = "document_id"


class JobNotFound(ServingError):
    """No ingest job with that id for the caller."""

    param = "job_id"


class PassageNotFound(ServingError):
    """No passage with that id for the caller."""

    param = "chunk_id"


class MessageNotFound(ServingError):
    """No answer with that id in the caller's conversation."""

    param = "message_id"
