// Thumbs up or down, with an optional comment, on one answer: POST /v1/feedback (kept per tenant).

import { request } from "./api.js";
import { announce, el } from "./dom.js";

/** The feedback controls for one answer; `record` holds the question, answer, citations and ids. */
export function feedbackWidget(record) {
  let rating = null;
  const note = el("span", { class: "muted small", "aria-live": "polite" });
  const up = el("button", { type: "button", class: "thumb", "aria-pressed": "false" },
    el("span", { "aria-hidden": "true" }, "▲ "), "Helpful");
  const down = el("button", { type: "button", class: "thumb", "aria-pressed": "false" },
    el("span", { "aria-hidden": "true" }, "▼ "), "Not helpful");
  const commentId = `comment-${Math.random().toString(36).slice(2)}`;
  const comment = el("textarea", { id: commentId, rows: "2", maxlength: "4000" });
  const form = el("form", { class: "feedback-comment", hidden: true },
    el("label", { for: commentId }, "Comment (optional)"), comment,
    el("button", { type: "submit" }, "Send comment"));

  async function send() {
    // only the fields POST /v1/feedback defines: it refuses any other (a 400 naming the field)
    const body = {
      rating,
      question: record.question,
      answer: record.answer,
      citations: record.citations.slice(0, 100),
      comment: comment.value.trim(),
      conversation_id: record.conversation_id,
      message_id: record.message_id || record.fallbackId,
    };
    try {
      await request("POST", "/v1/feedback", body);
      note.textContent = body.comment ? "Thanks: rating and comment saved." : "Thanks: rating saved.";
      announce(note.textContent);
    } catch (error) {
      note.textContent = error.message;
    }
  }

  function rate(value) {
    rating = value;
    up.setAttribute("aria-pressed", String(value === "up"));
    down.setAttribute("aria-pressed", String(value === "down"));
    form.hidden = false;
    send();
  }

  record.fallbackId = `local_${Date.now()}_${Math.random().toString(36).slice(2)}`;
  up.addEventListener("click", () => rate("up"));
  down.addEventListener("click", () => rate("down"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  return el("div", { class: "feedback" }, el("span", { class: "small" }, "Was this answer helpful?"), up, down, note, form);
}
