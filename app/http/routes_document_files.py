"""`GET /v1/documents/{id}/file`: the original file of an uploaded document, for viewers (the chat UI's
PDF page view)."""

from __future__ import annotations

import mimetypes
from pathlib import PurePath

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses

router = APIRouter(tags=["documents"])


@router.get(
    "/v1/documents/{document_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(401, 403, 404)},
)
def document_file(
    document_id: str,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> FileResponse:
    """The file as it was uploaded (documents ingested from the command line keep no copy: 404)."""
    document, path = container.library.original_file(caller, document_id)
    name = PurePath(document.source_path).name
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}
    return FileResponse(
        path, media_type=media_type, filename=name, content_disposition_type="attachment", headers=headers
    )
