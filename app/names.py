"""The rules for what a client names or writes: collections, tenants, file names, questions, titles.

A name is data. It is stored in the catalog and shown back, and it is never used as a path component:
stored files live under server-made ids (`app.safe_paths`). The rules below exist so that every name
is unambiguous to display, to put in a model id (`verity:<collection>`) or a key scope
(`collection:<name>`), and so that a bad name is refused with a 400 before anything is stored.

Each rule is checked in one function here; HTTP routes use the `Annotated` types (a violation is a
400 whose message quotes the rule) and the CLI calls the same functions.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

COLLECTION_NAME_MAX = 64
COLLECTION_NAME_RULE = (
    f"a collection name is 1 to {COLLECTION_NAME_MAX} characters: ASCII letters, digits, '.', '_' and "
    "'-', starting with a letter or a digit"
)
COLLECTION_NAME_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{COLLECTION_NAME_MAX - 1}}}$"
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)

TENANT_NAME_RULE = COLLECTION_NAME_RULE.replace("a collection name", "a tenant name")

FILE_NAME_MAX_BYTES = 255
FILE_NAME_RULE = (
    f"a file name is 1 to {FILE_NAME_MAX_BYTES} bytes in UTF-8 with no control characters, not starting "
    "with '.'; a path is cut to its last part (after the last '/' or '\\')"
)

QUESTION_MAX = 4000
QUESTION_RULE = f"a question is 1 to {QUESTION_MAX} characters and not only spaces"

TITLE_MAX = 200
TITLE_RULE = (
    f"a title is 1 to {TITLE_MAX} characters of printable text (no control characters), not only spaces"
)


class InvalidName(ValueError):
    """A name that breaks its rule; the message quotes the rule."""


def _quoted(value: str) -> str:
    shown = value if len(value) <= 80 else value[:80] + "…"
    return repr(shown)


def check_collection_name(value: str) -> str:
    """Return `value` if it is a valid collection name, else raise `InvalidName` quoting the rule."""
    if not _COLLECTION_NAME.fullmatch(value):
        raise InvalidName(f"invalid collection name {_quoted(value)}: {COLLECTION_NAME_RULE}")
    return value


def check_tenant_name(value: str) -> str:
    """Return `value` if it is a valid tenant name (the collection rule), else raise `InvalidName`."""
    if not _COLLECTION_NAME.fullmatch(value):
        raise InvalidName(f"invalid tenant name {_quoted(value)}: {TENANT_NAME_RULE}")
    return value


def has_control_characters(value: str) -> bool:
    """Whether the text holds a control, format, surrogate or unassigned character (Unicode C*)."""
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def base_name(filename: str) -> str:
    """The last part of a client's file name, whichever separator its system uses."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def check_file_name(filename: str) -> str:
    """The base name of an uploaded file if it follows the file-name rule, else raise `InvalidName`.

    The name is data (shown in listings and citations); the file is stored under a server-made id.
    """
    name = base_name(filename)
    too_long = len(name.encode("utf-8", "surrogatepass")) > FILE_NAME_MAX_BYTES
    if not name or name.startswith(".") or too_long or has_control_characters(name):
        raise InvalidName(f"invalid file name {_quoted(filename)}: {FILE_NAME_RULE}")
    return name


def check_question(value: str) -> str:
    """Return `value` if it is a question worth searching for, else raise `InvalidName`."""
    if not value.strip() or len(value) > QUESTION_MAX:
        raise InvalidName(f"invalid question: {QUESTION_RULE}")
    return value


def check_title(value: str) -> str:
    """Return `value` if it is a valid free-text title (e.g. a conversation's), else raise `InvalidName`."""
    if not value.strip() or len(value) > TITLE_MAX or has_control_characters(value):
        raise InvalidName(f"invalid title {_quoted(value)}: {TITLE_RULE}")
    return value


def _schema(rule: str, **extra: object) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "description": rule, **extra})


_NAME_LIMITS = {"pattern": COLLECTION_NAME_PATTERN, "minLength": 1, "maxLength": COLLECTION_NAME_MAX}

CollectionName = Annotated[
    str, AfterValidator(check_collection_name), _schema(COLLECTION_NAME_RULE, **_NAME_LIMITS)
]
"""A collection name in a request body, form, query or path: a violation is a 400 quoting the rule."""

TenantName = Annotated[str, AfterValidator(check_tenant_name), _schema(TENANT_NAME_RULE, **_NAME_LIMITS)]
"""A tenant name in an admin request."""

Question = Annotated[
    str, AfterValidator(check_question), _schema(QUESTION_RULE, minLength=1, maxLength=QUESTION_MAX)
]
"""A question to answer from the documents."""

Title = Annotated[str, AfterValidator(check_title), _schema(TITLE_RULE, minLength=1, maxLength=TITLE_MAX)]
"""A free-text title (conversations): printable, not blank, at most 200 characters."""
