// The passage panel: a cited passage with its document, page and section, the supporting span marked.

import { clear, el, fileName } from "./dom.js";
import { renderPage } from "./pdfview.js";

let opener = null;

/** Where the supporting span falls in the passage text, or null when it does not (or is empty). */
export function spanInPassage(citation) {
  const text = citation.text || "";
  const start = (citation.span_start || 0) - (citation.char_start || 0);
  const end = (citation.span_end || 0) - (citation.char_start || 0);
  if (!(citation.span_end > citation.span_start) || end <= 0 || start >= text.length) return null;
  return [Math.max(0, start), Math.min(text.length, end)];
}

function metaRow(name, value) {
  return [el("dt", {}, name), el("dd", {}, value)];
}

/** Open the panel on a citation or source; `label` is its number as the answer shows it. */
export function openPassage(citation, label, from) {
  const panel = document.getElementById("passage");
  opener = from || null;
  document.getElementById("passage-title").textContent = label ? `Passage [${label}]` : "Passage";
  const meta = clear(document.getElementById("passage-meta"));
  meta.append(...metaRow("Document", fileName(citation.source)));
  meta.append(...metaRow("Page", citation.page === null || citation.page === undefined ? "–" : String(citation.page)));
  meta.append(...metaRow("Section", citation.section || "–"));
  if (citation.verified === false) meta.append(...metaRow("Check", "This passage does not support the sentence that cites it."));
  const body = clear(document.getElementById("passage-text"));
  const text = citation.text || "";
  const span = spanInPassage(citation);
  if (span) {
    body.append(text.slice(0, span[0]), el("mark", { class: "support" }, text.slice(span[0], span[1])), text.slice(span[1]));
  } else {
    body.append(text);
  }
  document.getElementById("passage-gone").hidden = !citation.gone;
  showPageButton(citation);
  panel.hidden = false;
  panel.classList.add("open");
  panel.scrollTop = 0;
  panel.focus({ preventScroll: true });
  const mark = body.querySelector("mark");
  if (mark && mark.offsetTop - panel.offsetTop > panel.clientHeight - 80) mark.scrollIntoView({ block: "center" });
}

function showPageButton(citation) {
  const box = clear(document.getElementById("passage-page"));
  const isPdf = /\.pdf$/i.test(citation.source || "");
  if (!isPdf || !citation.page || citation.gone) return;
  const name = fileName(citation.source);
  const button = el("button", { type: "button" }, `Show page ${citation.page} of ${name}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = `Loading page ${citation.page}…`;
    try {
      const width = Math.max(200, box.clientWidth || 320);
      box.replaceChildren(await renderPage(citation.document_id, citation.page, width, `Page ${citation.page} of ${name}`));
    } catch (error) {
      box.replaceChildren(el("p", { class: "error" }, error.message || "The page could not be shown."));
    }
  });
  box.append(button);
}

export function closePassage() {
  const panel = document.getElementById("passage");
  panel.hidden = true;
  panel.classList.remove("open");
  if (opener && opener.isConnected) opener.focus();
  opener = null;
}

export function initPassage() {
  document.getElementById("passage-close").addEventListener("click", closePassage);
  document.getElementById("passage").addEventListener("keydown", (e) => {
    if (e.key === "Escape") closePassage();
  });
}
