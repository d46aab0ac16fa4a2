"""The job store's governance methods on SQLite and a real PostgreSQL: finished jobs past a time go,
unfinished ones stay, per tenant."""

from __future__ import annotations

from ingest.job_store import JobRecords
from tests.ingest.test_job_store import a_job, store

__all__ = ["store"]


def test_finished_jobs_past_their_time_go_and_unfinished_ones_stay(store: JobRecords) -> None:
    store.save(a_job("old_done", created_at=1.0, state="succeeded"))
    store.save(a_job("old_queued", created_at=1.0))
    store.save(a_job("new_done", created_at=9.0, state="failed"))
    store.save(a_job("other_old", tenant="u", created_at=1.0, state="succeeded"))
    assert store.tenants() == {"t", "u"}
    assert store.delete_finished_before("t", 5.0) == 1
    assert {j.id for j in store.list_jobs("t")} == {"old_queued", "new_done"}
    assert [j.id for j in store.unfinished_of("t")] == ["old_queued"]
    assert store.erase_tenant("t") == 1 and [j.id for j in store.list_jobs("t")] == ["old_queued"]
    assert [j.id for j in store.list_jobs("u")] == ["other_old"]
