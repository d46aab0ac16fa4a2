"""Chat in Debian's chromium against a real server: streaming answers, citation chips during and after
the stream, the passage panel, follow-ups, reopened conversations, abstention, safety, feedback, XSS."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import UiServer, screenshot, sign_in

pytestmark = pytest.mark.browser
QUESTION = "When was IBM founded?"


def ask(page: Page, question: str) -> None:
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask").click()


def last_answer(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".msg.answer").last


def finished(answer) -> None:  # type: ignore[no-untyped-def]
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)


def has_conversations(ui: UiServer) -> bool:
    headers = {"Authorization": f"Bearer {ui.key}"}
    return httpx.get(f"{ui.url}/v1/conversations", headers=headers, timeout=30).status_code != 404


def assert_marks_the_cited_sentence(page: Page, answer) -> None:  # type: ignore[no-untyped-def]
    """The panel's highlighted span is the passage sentence the answer's first sentence copied."""
    mark = page.locator("#passage mark.support")
    expect(mark).to_be_visible()
    marked = " ".join(mark.inner_text().split()).rstrip(".")
    sentence = " ".join(answer.locator(".sentence").first.inner_text().split())
    assert len(marked) > 20 and marked in sentence, (marked, sentence)


def test_the_answer_streams_and_its_citation_opens_during_and_after(
    ui: UiServer, page: Page, tmp_path: Path
) -> None:
    sign_in(page, ui.url, ui.key)
    assert ui.key not in page.url
    assert page.evaluate("sessionStorage.getItem('verity.apiKey')") == ui.key
    ask(page, QUESTION)
    answer = last_answer(page)
    expect(answer.locator(".tail")).not_to_be_empty(timeout=30_000)
    chip = answer.locator(".chip").first
    expect(chip).to_have_text("1", timeout=30_000)
    expect(answer).to_have_attribute("aria-busy", "true")
    chip.click()
    panel = page.locator("#passage")
    expect(panel).to_be_visible()
    expect(panel.locator("#passage-meta")).to_contain_text("wiki.md")
    assert_marks_the_cited_sentence(page, answer)
    assert answer.get_attribute("aria-busy") == "true", "the chip was clicked after the stream ended"
    screenshot(page, "chat-streaming", tmp_path)
    finished(answer)
    expect(answer.locator(".sentence.unsupported", has_text="The rest of this reply")).to_be_visible()
    expect(answer.locator(".flag").first).to_have_text("not supported by your documents")
    page.locator("#passage-close").click()
    expect(panel).to_be_hidden()
    answer.locator(".chip").first.click()
    assert_marks_the_cited_sentence(page, answer)
    labels = sorted(set(answer.locator(".chip").all_inner_texts()))
    assert labels[0] == "1" and labels == [str(n) for n in range(1, len(labels) + 1)]
    expect(answer.locator(".cited li")).to_have_count(len(labels))
    screenshot(page, "chat-answer", tmp_path)


def test_a_follow_up_shows_its_search_query_and_the_reopened_conversation_keeps_its_citations(
    ui: UiServer, page: Page, tmp_path: Path
) -> None:
    if not has_conversations(ui):
        pytest.skip("this server has no conversations API (/v1/conversations)")
    sign_in(page, ui.url, ui.key)
    ask(page, QUESTION)
    finished(last_answer(page))
    ask(page, "Where is it headquartered?")
    follow_up = last_answer(page)
    finished(follow_up)
    expect(follow_up.locator(".search-query")).to_contain_text("Searched for:")
    title = page.locator("#thread-title").inner_text()
    page.reload()
    page.locator(".conversation-open", has_text=title).first.click()
    expect(page.locator(".msg.answer")).to_have_count(2)
    chip = page.locator(".msg.answer").first.locator(".chip").first
    expect(chip).to_have_text("1")
    chip.click()
    assert_marks_the_cited_sentence(page, page.locator(".msg.answer").first)
    expect(page.locator(".msg.answer").last.locator(".search-query")).to_contain_text("Searched for:")
    screenshot(page, "chat-reopened", tmp_path)


def test_a_question_the_documents_do_not_answer_looks_different_and_shows_the_closest_passages(
    ui: UiServer, page: Page, tmp_path: Path
) -> None:
    sign_in(page, ui.url, ui.key)
    ask(page, "How far away is the moon from IBM?")
    answer = last_answer(page)
    finished(answer)
    expect(answer).to_have_class(re.compile(r"\babstained\b"))
    expect(answer).to_contain_text("Not in your documents.")
    closest = answer.locator(".closest li")
    expect(closest.first).to_contain_text("wiki.md")
    closest.first.get_by_role("button").click()
    expect(page.locator("#passage-text")).not_to_be_empty()
    screenshot(page, "chat-not-in-documents", tmp_path)


def test_a_flagged_safety_decision_is_shown_in_words(ui: UiServer, page: Page) -> None:
    sign_in(page, ui.url, ui.key)
    ask(page, "My email is jane.doe@example.com and my card is 4111 1111 1111 1111: when was IBM founded?")
    answer = last_answer(page)
    finished(answer)
    expect(answer.locator(".safety").first).to_contain_text(re.compile(r"Safety: the \w+ check flagged pii"))


def test_feedback_with_a_comment_is_stored_for_the_tenant(ui: UiServer, page: Page) -> None:
    sign_in(page, ui.url, ui.key)
    ask(page, QUESTION)
    answer = last_answer(page)
    finished(answer)
    answer.get_by_role("button", name="Not helpful").click()
    expect(answer.locator(".feedback")).to_contain_text("rating saved")
    answer.get_by_label("Comment (optional)").fill("It should say 1911.")
    answer.get_by_role("button", name="Send comment").click()
    expect(answer.locator(".feedback")).to_contain_text("rating and comment saved")
    stored = [f for f in ui.container.feedback.list("acme") if f.comment == "It should say 1911."]
    assert len(stored) == 1
    record = stored[0]
    assert record.rating == "down" and record.question == QUESTION
    assert "[1]" in record.answer and "Penguins" in record.answer
    assert record.citations and record.citations[0]["source"].endswith("wiki.md")


def test_a_document_with_script_img_onerror_and_javascript_links_is_inert(
    ui: UiServer, page: Page, tmp_path: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, ui.url, ui.key)
    page.get_by_label("Collection", exact=True).select_option("xss")
    page.get_by_role("button", name="New chat").click()
    ask(page, "What tricks does the xylophone file hold?")
    answer = last_answer(page)
    finished(answer)
    expect(answer).to_contain_text("Xylophone notes")
    answer.locator(".chip").first.click()
    expect(page.locator("#passage-text")).to_contain_text("<script>window.__xss = 'script'</script>")
    expect(page.locator("#passage-text")).to_contain_text("onerror=")
    assert page.evaluate("window.__xss") is None
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("[onerror], [onclick], [onload]").count() == 0
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert dialogs == []
    screenshot(page, "xss-inert", tmp_path)


def test_conversations_are_renamed_and_deleted_from_the_sidebar(ui: UiServer, page: Page) -> None:
    if not has_conversations(ui):
        pytest.skip("this server has no conversations API (/v1/conversations)")
    sign_in(page, ui.url, ui.key)
    ask(page, "Who founded IBM in 1911?")
    finished(last_answer(page))
    item = page.locator("#conversations li", has_text="Who founded IBM in 1911?")
    item.get_by_role("button", name="Rename").click()
    page.get_by_role("textbox", name="New name for the conversation").fill("IBM history")
    page.locator("#prompt").get_by_role("button", name="Save").click()
    expect(page.locator("#thread-title")).to_have_text("IBM history")
    renamed = page.locator("#conversations li", has_text="IBM history")
    expect(renamed).to_have_count(1)
    renamed.get_by_role("button", name="Delete").click()
    page.locator("#confirm").get_by_role("button", name="Delete").click()
    expect(page.locator("#conversations li", has_text="IBM history")).to_have_count(0)
    expect(page.locator("#thread-title")).to_have_text("New conversation")
    expect(page.locator(".msg")).to_have_count(0)


def test_a_citation_of_a_deleted_document_still_opens_and_says_it_is_gone(
    ui: UiServer, page: Page, docs_mixed: Path
) -> None:
    if not has_conversations(ui):
        pytest.skip("this server has no conversations API (/v1/conversations)")
    report = ui.container.ingest_pipeline.ingest([docs_mixed / "duck.md"], tenant="acme", collection="ducks")
    (document,) = [o.document for o in report.outcomes if o.document is not None]
    sign_in(page, ui.url, ui.key)
    page.get_by_label("Collection", exact=True).select_option("ducks")
    page.get_by_role("button", name="New chat").click()
    ask(page, "What do ducks like to eat?")
    finished(last_answer(page))
    title = page.locator("#thread-title").inner_text()
    headers = {"Authorization": f"Bearer {ui.key}"}
    deleted = httpx.delete(f"{ui.url}/v1/documents/{document.id}", headers=headers, timeout=30)
    assert deleted.status_code == 200
    page.reload()
    page.locator(".conversation-open", has_text=title).first.click()
    page.locator(".msg.answer").first.locator(".chip").first.click()
    expect(page.locator("#passage-gone")).to_be_visible()
    expect(page.locator("#passage-meta")).to_contain_text("duck.md")
