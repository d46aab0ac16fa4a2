"""Collections, documents and uploads in Debian's chromium against a real server."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from ingest.job_store import Job
from tests.web.conftest import UiServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def open_documents(page: Page, ui: UiServer) -> None:
    sign_in(page, ui.url, ui.key)
    page.get_by_role("button", name="Documents").click()


def create_collection(page: Page, name: str) -> None:
    page.get_by_label("New collection").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#upload-target")).to_have_text(name)


def test_an_upload_shows_its_progress_until_done_and_lists_the_document(
    ui: UiServer, page: Page, docs_mixed: Path, tmp_path: Path
) -> None:
    open_documents(page, ui)
    create_collection(page, "manuals")
    page.locator("#file-input").set_input_files([str(docs_mixed / "multi_page.pdf")])
    row = page.locator(".upload", has_text="multi_page.pdf")
    expect(row.locator(".upload-status")).to_have_text(re.compile(r"Uploading|Queued|Reading|Done"))
    done = re.compile(r"Done: \d+ chunks indexed")
    expect(row.locator(".upload-status")).to_have_text(done, timeout=120_000)
    expect(row.locator("progress")).to_have_attribute("value", "100")
    listed = page.locator("#documents tbody tr", has_text="multi_page.pdf")
    expect(listed).to_be_visible()
    cells = listed.locator("td")
    expect(cells.nth(0)).to_have_text("PDF")
    expect(cells.nth(1)).to_have_text(re.compile(r"\d+(\.\d)? KB"))
    expect(cells.nth(2)).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(cells.nth(4)).to_have_text(re.compile(r"^Indexed \S+"))
    expect(page.locator("#collections")).to_contain_text("manuals")
    screenshot(page, "documents", tmp_path)


def test_files_a_job_is_still_indexing_are_listed_until_it_finishes(
    ui: UiServer, page: Page, tmp_path: Path
) -> None:
    """A job submitted elsewhere (the API, the CLI, another tab) shows in the table while it runs."""
    store = ui.container.job_store
    job = Job("job-in-flight", "acme", "inbox", "running", ("report.pdf", "notes.md"), chunks_done=4)
    store.save(job)
    open_documents(page, ui)
    create_collection(page, "inbox")
    rows = page.locator("#documents tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("report.pdf")
    expect(rows.nth(0).locator("td").nth(4)).to_have_text("Indexing…")
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("Queued")
    expect(page.locator("#documents-empty")).to_be_hidden()
    inbox = page.locator("#collections li", has_text="inbox")
    expect(inbox).to_contain_text("indexing…")
    screenshot(page, "documents-indexing", tmp_path)
    store.save(replace(job, files_done=1))
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("notes.md")
    store.save(replace(job, state="failed", files_done=2))
    expect(rows).to_have_count(0)
    expect(page.locator("#documents-empty")).to_be_visible()
    expect(inbox).to_contain_text("empty")


def test_a_file_that_cannot_be_read_fails_with_its_reason_in_words(
    ui: UiServer, page: Page, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.xyz"
    bad.write_bytes(b"\x00\x01 not a document")
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    open_documents(page, ui)
    create_collection(page, "broken")
    page.locator("#file-input").set_input_files([str(bad), str(empty)])
    for name in ("notes.xyz", "empty.md"):
        status = page.locator(".upload", has_text=name).locator(".upload-status")
        expect(status).to_have_text(re.compile(r"^Failed: .{12,}"), timeout=60_000)
    unsupported = page.locator(".upload", has_text="notes.xyz").locator(".upload-status")
    expect(unsupported).to_contain_text(re.compile(r"xyz|type|support", re.I))
    expect(page.locator("#documents-empty")).to_be_visible()
    screenshot(page, "upload-errors", tmp_path)


def test_deleting_a_document_and_a_collection_asks_first(ui: UiServer, page: Page, docs_mixed: Path) -> None:
    open_documents(page, ui)
    create_collection(page, "scratch")
    page.locator("#file-input").set_input_files([str(docs_mixed / "mixed.md")])
    row = page.locator(".upload", has_text="mixed.md").locator(".upload-status")
    expect(row).to_have_text(re.compile(r"Done"), timeout=60_000)
    page.get_by_role("button", name="Delete mixed.md").click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("mixed.md")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("#documents tbody tr", has_text="mixed.md")).to_be_visible()
    page.get_by_role("button", name="Delete mixed.md").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#documents tbody tr", has_text="mixed.md")).to_have_count(0)
    page.locator("#file-input").set_input_files([str(docs_mixed / "mixed.md")])
    expect(row.first).to_have_text(re.compile(r"Done"), timeout=60_000)
    page.get_by_role("button", name="Delete collection scratch").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#collections")).not_to_contain_text("scratch")
    assert all(c.name != "scratch" for c in ui.container.catalog.list_collections("acme"))


def test_a_pdf_citation_shows_its_page_drawn_from_the_uploaded_file(
    ui: UiServer, page: Page, docs_mixed: Path, tmp_path: Path
) -> None:
    pdf = docs_mixed / "multi_page.pdf"
    headers = {"Authorization": f"Bearer {ui.key}"}
    with pdf.open("rb") as handle:
        files = {"file": (pdf.name, handle, "application/pdf")}
        uploaded = httpx.post(
            f"{ui.url}/v1/documents", files=files, data={"collection": "pdfs"}, headers=headers, timeout=120
        )
    assert uploaded.status_code == 200, uploaded.text
    document_id = uploaded.json()["data"][0]["id"]
    original = httpx.get(f"{ui.url}/v1/documents/{document_id}/file", headers=headers, timeout=30)
    assert original.status_code == 200 and original.content == pdf.read_bytes()
    assert httpx.get(f"{ui.url}/v1/documents/{document_id}/file", timeout=30).status_code == 401
    sign_in(page, ui.url, ui.key)
    page.get_by_label("Collection", exact=True).select_option("pdfs")
    page.get_by_role("button", name="New chat").click()
    page.get_by_label("Your question").fill("What is on the pages of this file?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".msg.answer").last
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    answer.locator(".chip").first.click()
    show = page.get_by_role("button", name=re.compile(r"Show page \d+ of multi_page.pdf"))
    show.click()
    canvas = page.locator("#passage-page canvas.pdf-page")
    expect(canvas).to_be_visible(timeout=30_000)
    inked = page.evaluate(
        """() => {
            const c = document.querySelector('#passage-page canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let dark = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 3] > 0) dark++;
            return dark;
        }"""
    )
    assert inked > 100, "the page was drawn blank"
    screenshot(page, "pdf-page", tmp_path)
