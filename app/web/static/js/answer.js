// One answer, rendered from the answer stream's structured events (or from a stored answer, the same
// way): sentences as they are checked, each followed by citation chips built from the citation
// records (never re-parsed from the text) and numbered from 1 in order of first use; chips open the
// passage panel while the answer is still streaming and after. Unsupported sentences, safety decisions,
// the search query and the "not in your documents" case are shown in words.

import { el, fileName, markdown } from "./dom.js";
import { openPassage } from "./passage.js";
import { feedbackWidget } from "./feedback.js";

const MARKERS = /\s*\[\d+(?:\s*,\s*\d+)*\]/g;

function stripMarkers(text) {
  return text.replace(MARKERS, "");
}

function where(passage) {
  const page = passage.page === null || passage.page === undefined ? "" : `, page ${passage.page}`;
  return `${fileName(passage.source)}${page}`;
}

export class AnswerView {
  constructor(question) {
    this.question = question;
    this.sources = [];
    this.labels = new Map();
    this.cited = [];
    this.text = "";
    this.consumed = 0;
    this.sentenceCount = 0;
    this.safety = [];
    this.searchQuery = null;
    this.searchNote = el("p", { class: "search-query", hidden: true });
    this.safetyList = el("ul", { class: "safety-list", hidden: true, "aria-label": "Safety checks" });
    this.sentences = el("span", { class: "sentences" });
    this.tail = el("span", { class: "tail" });
    this.body = el("div", { class: "answer-body" }, this.sentences, this.tail);
    this.footer = el("div", { class: "answer-footer" });
    this.status = el("p", { class: "answer-status muted small" }, "Searching your documents…");
    this.element = el("li", { class: "msg answer", "aria-busy": "true" },
      el("h3", { class: "sr-only" }, "Answer"), this.searchNote, this.safetyList, this.body, this.status, this.footer);
  }

  /** Handle one event of the answer stream. */
  handle(name, data) {
    if (data && data.search_query) this.showSearchQuery(data.search_query);
    if (name === "sources") {
      this.sources = data.sources || [];
      this.status.textContent = "Writing the answer…";
    } else if (name === "delta") {
      this.text += data.text || "";
      this.showTail();
    } else if (name === "sentence") {
      const byNumber = new Map((data.sources || []).map((c) => [c.number, c]));
      this.appendSentence(data, (n) => byNumber.get(n));
      this.advancePast(data.text);
    } else if (name === "safety") {
      this.addSafety(data);
    } else if (name === "done") {
      this.finish(data);
    }
  }

  showSearchQuery(query) {
    if (!query || query.trim() === this.question.trim()) return;
    this.searchQuery = query;
    this.searchNote.hidden = false;
    this.searchNote.replaceChildren("Searched for: ", el("q", {}, query));
  }

  addSafety(decision) {
    this.safety.push(decision);
    if (decision.decision !== "flagged") return;
    this.safetyList.hidden = false;
    const score = typeof decision.score === "number" ? ` (score ${decision.score.toFixed(2)})` : "";
    this.safetyList.append(el("li", { class: "safety" },
      el("strong", {}, "Safety: "),
      `the ${decision.stage} check flagged ${decision.category.replace(/_/g, " ")}${score}; action: ${decision.action.replace(/_/g, " ")}.`));
  }

  showTail() {
    this.tail.textContent = this.text.slice(this.consumed);
  }

  advancePast(sentenceText) {
    const at = this.text.indexOf(sentenceText, this.consumed);
    this.consumed = at >= 0 ? at + sentenceText.length : this.text.length;
    this.showTail();
  }

  label(number) {
    if (!this.labels.has(number)) this.labels.set(number, this.labels.size + 1);
    return this.labels.get(number);
  }

  chip(citation) {
    const label = this.label(citation.number);
    if (!this.cited.some((c) => c.number === citation.number)) this.cited.push(citation);
    const unverified = citation.verified === false;
    const chip = el("button", {
      type: "button",
      class: `chip${unverified ? " unverified" : ""}`,
      "aria-label": `Citation ${label}: ${where(citation)}${unverified ? " (does not support this sentence)" : ""}`,
      title: where(citation),
      dataset: { citation: String(label) },
    }, String(label));
    chip.addEventListener("click", () => openPassage(citation, label, chip));
    return chip;
  }

  appendSentence(sentence, citationFor) {
    const chips = (sentence.citations || []).map(citationFor).filter(Boolean).map((c) => this.chip(c));
    const node = el("span", { class: `sentence${sentence.supported ? "" : " unsupported"}` },
      markdown(stripMarkers(sentence.text), true));
    if (chips.length) node.append(el("span", { class: "chips" }, ...chips));
    if (!sentence.supported) node.append(el("span", { class: "flag" }, "not supported by your documents"));
    if ((sentence.invalid_markers || []).length) {
      node.append(el("span", { class: "flag" }, `cited source ${sentence.invalid_markers.join(", ")}, which was not shown`));
    }
    this.sentences.append(node, " ");
    this.sentenceCount += 1;
  }

  /** Render the final answer from the `done` event (or a stored answer). */
  finish(done) {
    this.element.removeAttribute("aria-busy");
    this.status.textContent = "";
    this.status.hidden = true;
    this.answer = done.answer || "";
    this.citations = done.citations || [];
    if (done.abstained) {
      this.showAbstained();
      return;
    }
    const sentences = done.sentences || [];
    if (sentences.length && sentences.length !== this.sentenceCount) this.rerender(sentences);
    else if (!sentences.length) this.renderWhole();
    this.tail.textContent = "";
    this.showCitedList();
  }

  rerender(sentences) {
    const byNumber = new Map();
    for (const c of this.citations) if (!byNumber.has(c.number)) byNumber.set(c.number, c);
    this.sentences.replaceChildren();
    this.labels = new Map();
    this.cited = [];
    this.sentenceCount = 0;
    for (const s of sentences) this.appendSentence(s, (n) => byNumber.get(n));
  }

  renderWhole() {
    this.sentences.replaceChildren(markdown(stripMarkers(this.answer), false));
    const seen = new Set();
    const chips = this.citations.filter((c) => !seen.has(c.number) && seen.add(c.number)).map((c) => this.chip(c));
    if (chips.length) this.sentences.append(el("span", { class: "chips" }, ...chips));
  }

  showCitedList() {
    if (!this.cited.length) return;
    const items = this.cited.map((c) => {
      const label = this.labels.get(c.number);
      const open = el("button", { type: "button", class: "link" }, where(c));
      open.addEventListener("click", () => openPassage(c, label, open));
      const snippet = (c.text || "").replace(/\s+/g, " ").trim().slice(0, 70);
      return el("li", { value: String(label) }, open, c.section ? el("span", { class: "muted" }, ` — ${c.section}`) : null,
        snippet ? el("span", { class: "snippet" }, ` “${snippet}…”`) : null);
    });
    this.footer.append(el("div", { class: "cited" }, el("h4", {}, "Sources"), el("ol", {}, ...items)));
  }

  showAbstained() {
    this.element.classList.add("abstained");
    this.tail.textContent = "";
    this.sentences.replaceChildren(
      el("strong", { class: "abstained-title" }, "Not in your documents."),
      " None of the documents in this collection answers this question, so Verity does not guess.");
    if (!this.sources.length) return;
    const items = this.sources.map((s) => {
      const open = el("button", { type: "button", class: "link" }, where(s));
      open.addEventListener("click", () => openPassage(s, null, open));
      return el("li", {}, open, el("p", { class: "snippet" }, `${(s.text || "").slice(0, 160)}…`));
    });
    this.footer.append(el("div", { class: "closest" }, el("h4", {}, "Closest passages"), el("ul", {}, ...items)));
  }

  /** Show a failure of this answer in words. */
  fail(message) {
    this.element.removeAttribute("aria-busy");
    this.status.hidden = false;
    this.status.className = "answer-status error";
    this.status.textContent = message;
    this.element.classList.add("failed");
  }

  /** Add thumbs up/down for this answer once it is finished. */
  addFeedback(ids) {
    this.footer.append(feedbackWidget({
      question: this.question,
      answer: this.answer || "",
      citations: this.citations || [],
      conversation_id: ids.conversation_id || null,
      message_id: ids.message_id || null,
    }));
  }

  /** Render a stored answer (from a reopened conversation) exactly as a streamed one. */
  static fromStored(question, answer) {
    const view = new AnswerView(question);
    view.sources = answer.sources || [];
    if (answer.search_query) view.showSearchQuery(answer.search_query);
    for (const decision of answer.safety || []) view.addSafety(decision);
    view.finish(answer);
    return view;
  }
}
