"""`/v1/jobs`: ingest uploads in the background and poll their progress."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.known_fields import known_fields_only
from app.http.routes_documents import DUPLICATE_HELP
from app.http.schemas import FileErrorOut, JobList, JobOut
from app.names import CollectionName
from ingest.jobs import Job
from ingest.pipeline import DuplicatePolicy
from retrieval.types import DEFAULT_COLLECTION

router = APIRouter(tags=["jobs"], dependencies=[Depends(known_fields_only)])


def job_out(job: Job) -> JobOut:
    """Render a job."""
    return JobOut(
        id=job.id,
        collection=job.collection,
        state=job.state,
        files=list(job.files),
        files_total=len(job.files),
        files_done=job.files_done,
        chunks_done=job.chunks_done,
        errors=[
            FileErrorOut(filename=name, message=message, code="ingest_failed") for name, message in job.errors
        ],
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        eta_seconds=job.eta_seconds(time.time()),
        resumed=job.resumed,
    )


@router.post("/v1/jobs", response_model=JobOut, status_code=202, responses=error_responses(400, 413))
async def create_job(
    file: list[UploadFile] = File(description="one or more files (repeat the field)"),
    collection: Annotated[CollectionName, Form()] = DEFAULT_COLLECTION,
    on_duplicate: DuplicatePolicy = Form("overwrite", description=DUPLICATE_HELP),
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("jobs")),
) -> JobOut:
    """Receive files and queue them for ingestion; returns the job at once (202)."""
    return job_out(await container.ingestion.submit(caller, file, collection, on_duplicate))


@router.get("/v1/jobs", response_model=JobList, responses=error_responses())
def list_jobs(
    container: Container = Depends(get_container), caller: Caller = Depends(authorize("jobs"))
) -> JobList:
    """Every ingest job, newest first."""
    return JobList(data=[job_out(j) for j in container.ingestion.jobs(caller)])


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=error_responses(404))
def get_job(
    job_id: str, container: Container = Depends(get_container), caller: Caller = Depends(authorize("jobs"))
) -> JobOut:
    """One job: its state, files and chunks done, errors per file and an ETA."""
    return job_out(container.ingestion.job(caller, job_id))
