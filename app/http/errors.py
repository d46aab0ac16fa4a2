"""One place that turns errors into OpenAI's error body `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.gateway.errors import GatewayError
from app.http.security_headers import security_headers
from app.names import InvalidName
from app.serving.errors import (
    CollectionNotFound,
    DocumentMissing,
    FileNotKept,
    InvalidFileName,
    InvalidRequest,
    JobNotFound,
    MessageNotFound,
    PassageNotFound,
    ServingError,
    UploadTooLarge,
)
from app.token_input import TokenIdsNotInVocabulary
from generation.errors import (
    EngineFailed,
    GenerationError,
    ModelNotFound,
    NoReplicaAvailable,
    PromptTooLong,
)
from generation.safety.errors import SafetyError, SafetyModelError, SafetyPolicyError, SafetyStoreError
from ingest.errors import (
    DuplicateDocument,
    EmptyDocument,
    FileTooLarge,
    IngestError,
    UnreadableFile,
    UnsupportedFile,
)
from retrieval.databases.errors import SchemaTooNew, StorageError, StorageUnavailable
from retrieval.errors import DocumentNotFound, ModelUnavailable, RetrievalError


class ApiError(Exception):
    """An error the API reports as is: status, message, type, param and code."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code


class ErrorDetail(BaseModel):
    """What went wrong, in OpenAI's words: a message for a person, a type, the parameter, a code."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error body."""

    error: ErrorDetail


_STATUS_TEXT = {
    400: "Invalid request: a parameter is missing, malformed or out of range",
    401: "Missing or invalid credentials",
    402: "The tenant's credits do not cover the request's maximum cost",
    403: "The API key's scopes do not allow this endpoint, collection or model",
    429: "A rate limit or the tenant's share of the queue is exhausted (see Retry-After)",
    404: "Not found",
    409: "Another version of the file is already filed (duplicate policy 'fail')",
    413: "The upload is larger than the configured limit",
    415: "The file type is not one Verity reads",
    422: "The file could not be read (corrupt, encrypted, empty or mislabelled)",
    500: "The server failed",
    502: "The language model failed while generating",
    503: "A model could not be loaded, or the engine's queue is full (see Retry-After)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can return (500 is always added)."""
    return {
        status: {"model": ErrorResponse, "description": _STATUS_TEXT[status]}
        for status in sorted({*statuses, 500})
    }


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


SERVING_ERRORS: dict[type[ServingError], tuple[int, str]] = {
    InvalidRequest: (400, "invalid_value"),
    InvalidFileName: (400, "invalid_file_name"),
    UploadTooLarge: (413, "file_too_large"),
    CollectionNotFound: (404, "collection_not_found"),
    DocumentMissing: (404, "document_not_found"),
    FileNotKept: (404, "file_not_kept"),
    JobNotFound: (404, "job_not_found"),
    PassageNotFound: (404, "passage_not_found"),
    MessageNotFound: (404, "message_not_found"),
    ServingError: (400, "invalid_value"),  # the base, never raised bare
}


def api_error_from(exc: Exception) -> ApiError:
    """The API error for an exception of ours; anything else is an internal error."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, GatewayError):
        return ApiError(exc.status, str(exc), exc.type, code=exc.code)
    if isinstance(exc, ServingError):
        status, code = next(SERVING_ERRORS[k] for k in type(exc).__mro__ if k in SERVING_ERRORS)
        return ApiError(status, str(exc), param=exc.param, code=code)
    if isinstance(exc, TokenIdsNotInVocabulary):
        return ApiError(400, str(exc), param="input", code="token_ids_not_in_vocabulary")
    table: list[tuple[type[Exception], int, str, str]] = [
        (InvalidName, 400, "invalid_request_error", "invalid_value"),
        (DocumentNotFound, 404, "invalid_request_error", "document_not_found"),
        (UnsupportedFile, 415, "invalid_request_error", "unsupported_file"),
        (DuplicateDocument, 409, "invalid_request_error", "duplicate_document"),
        (FileTooLarge, 413, "invalid_request_error", "file_too_large"),
        (EmptyDocument, 422, "invalid_request_error", "empty_document"),
        (UnreadableFile, 422, "invalid_request_error", "unreadable_file"),
        (IngestError, 400, "invalid_request_error", "ingest_failed"),
        (ModelUnavailable, 503, "server_error", "model_unavailable"),
        (ModelNotFound, 503, "server_error", "model_unavailable"),
        (NoReplicaAvailable, 503, "server_error", "engine_unavailable"),
        (EngineFailed, 502, "server_error", "engine_failed"),
        (PromptTooLong, 400, "invalid_request_error", "context_length_exceeded"),
        (GenerationError, 500, "server_error", "generation_failed"),
        (RetrievalError, 500, "server_error", "retrieval_failed"),
        (StorageUnavailable, 503, "server_error", "storage_unavailable"),
        (SchemaTooNew, 500, "server_error", "schema_too_new"),
        (StorageError, 500, "server_error", "storage_failed"),
        (SafetyModelError, 503, "server_error", "safety_model_unavailable"),
        (SafetyStoreError, 503, "server_error", "safety_store_unavailable"),
        (SafetyPolicyError, 500, "server_error", "safety_policy_invalid"),
        (SafetyError, 500, "server_error", "safety_failed"),
    ]
    for kind, status, type_, code in table:
        if isinstance(exc, kind):
            return ApiError(status, str(exc), type_, code=code)
    return ApiError(
        500, "internal error: the server failed to handle this request", "server_error", code="internal_error"
    )


def _response(error: ApiError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    # a 500 is sent by Starlette's outermost middleware, past SecurityHeaders: set them here too
    return JSONResponse(
        error_body(error.message, error.type, error.param, error.code),
        status_code=error.status,
        headers={**security_headers(), **(headers or {})},
    )


UNKNOWN_FIELD = (
    "Verity's own endpoints refuse fields they do not define (a misspelt field would otherwise be "
    "silently ignored); the OpenAI-compatible endpoints ignore them, as OpenAI's clients expect"
)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(location) or None
    if first.get("type") == "extra_forbidden":
        return f"unknown field {param!r}: {UNKNOWN_FIELD}", param
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    return (f"{param}: {message}" if param else message), param


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the OpenAI error body."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        return _response(api_error_from(exc), getattr(exc, "headers", None))

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, param = _validation_message(exc)
        return _response(ApiError(400, message, param=param, code="invalid_value"))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return _response(ApiError(exc.status_code, str(exc.detail), type_), exc.headers)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    ours: tuple[type[Exception], ...] = (ApiError, GatewayError, ServingError, IngestError, RetrievalError)
    kinds = (*ours, StorageError, GenerationError, SafetyError)
    for kind in (*kinds, Exception):
        app.add_exception_handler(kind, on_api_error)
