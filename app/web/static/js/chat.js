// Chat over server-side conversations: the sidebar (start, resume, rename, delete) and the thread.
// Without the conversations API (an older server) each question is a single /v1/answers call.

import { ApiError, request, stream } from "./api.js";
import { announce, clear, el } from "./dom.js";
import { AnswerView } from "./answer.js";
import { closePassage } from "./passage.js";
import { state } from "./state.js";
import { confirmDialog, notify, promptDialog } from "./ui.js";

let current = null; // the open conversation, or null for a new one
let busy = false;

const $ = (id) => document.getElementById(id);

function setTitle(text) {
  $("thread-title").textContent = text || "New conversation";
}

function userMessage(text) {
  return el("li", { class: "msg question" }, el("h3", { class: "sr-only" }, "Question"), el("p", {}, text));
}

/** Fold or unfold the conversation list (phone width only; it is always shown on wider screens). */
function showConversationList(open) {
  $("conversations-body").closest(".sidebar").classList.toggle("open", open);
  $("toggle-conversations").setAttribute("aria-expanded", String(open));
  $("toggle-conversations").textContent = open ? "Hide list" : "Show list";
}

/** Load the sidebar's list of conversations. */
export async function loadConversations() {
  const list = clear($("conversations"));
  if (!state.conversationsApi) return;
  let page;
  try {
    page = await request("GET", "/v1/conversations?limit=50");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      state.conversationsApi = false;
      $("conversations-note").textContent = "This server does not keep conversations: each question is answered on its own.";
      return;
    }
    throw error;
  }
  $("conversations-note").textContent = page.data.length ? "" : "No conversations yet.";
  for (const conversation of page.data) list.append(conversationItem(conversation));
}

function conversationItem(conversation) {
  const active = current && current.id === conversation.id;
  const title = conversation.title || "Untitled conversation";
  const open = el("button", { type: "button", class: "conversation-open", "aria-current": active ? "true" : null }, title);
  open.addEventListener("click", () => openConversation(conversation.id));
  const rename = el("button", { type: "button", class: "link small", "aria-label": `Rename ${title}` }, "Rename");
  rename.addEventListener("click", () => renameConversation(conversation));
  const remove = el("button", { type: "button", class: "link small danger-text", "aria-label": `Delete ${title}` }, "Delete");
  remove.addEventListener("click", () => deleteConversation(conversation));
  return el("li", { class: active ? "active" : null }, open, el("span", { class: "conversation-actions" }, rename, remove));
}

async function renameConversation(conversation) {
  const title = await promptDialog("New name for the conversation", conversation.title || "");
  if (!title) return;
  try {
    await request("PATCH", `/v1/conversations/${encodeURIComponent(conversation.id)}`, { title });
    if (current && current.id === conversation.id) setTitle(title);
    await loadConversations();
  } catch (error) {
    notify(error.message);
  }
}

async function deleteConversation(conversation) {
  const ok = await confirmDialog(`Delete the conversation “${conversation.title || "Untitled"}”? Its messages are deleted too.`);
  if (!ok) return;
  try {
    await request("DELETE", `/v1/conversations/${encodeURIComponent(conversation.id)}`);
    if (current && current.id === conversation.id) newConversation();
    await loadConversations();
    announce("Conversation deleted.");
  } catch (error) {
    notify(error.message);
  }
}

/** Clear the thread for a new conversation (created on the first question). */
export function newConversation() {
  current = null;
  clear($("messages"));
  closePassage();
  setTitle(null);
  for (const item of $("conversations").querySelectorAll("[aria-current]")) item.removeAttribute("aria-current");
  $("question").focus();
}

/** Reopen a stored conversation, every answer with its citations. */
export async function openConversation(id) {
  let conversation;
  try {
    conversation = await request("GET", `/v1/conversations/${encodeURIComponent(id)}`);
  } catch (error) {
    notify(error.message);
    return;
  }
  current = conversation;
  showConversationList(false);
  closePassage();
  setTitle(conversation.title);
  const messages = clear($("messages"));
  let question = "";
  for (const message of conversation.messages || []) {
    if (message.role === "user") {
      question = message.content;
      messages.append(userMessage(message.content));
    } else if (message.answer) {
      const view = AnswerView.fromStored(question, message.answer);
      view.addFeedback({ conversation_id: conversation.id, message_id: message.id });
      messages.append(view.element);
    } else {
      messages.append(el("li", { class: "msg answer" }, el("p", {}, message.content)));
    }
  }
  loadConversations().catch(() => {});
  announce(`Opened ${conversation.title || "the conversation"}.`);
}

async function ensureConversation(question) {
  if (!state.conversationsApi) return null;
  if (current) return current;
  try {
    current = await request("POST", "/v1/conversations", { collection: state.collection, title: question.replace(/\s+/g, " ").trim().slice(0, 80) });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      state.conversationsApi = false;
      return null;
    }
    throw error;
  }
  setTitle(current.title);
  loadConversations().catch(() => {});
  return current;
}

async function ask(question) {
  const messages = $("messages");
  messages.append(userMessage(question));
  const view = new AnswerView(question);
  messages.append(view.element);
  view.element.scrollIntoView({ block: "end" });
  const ids = {};
  const fresh = !current;
  let conversation = null;
  let answered = false;
  try {
    conversation = await ensureConversation(question);
    const onEvent = (name, data) => {
      answered = true;
      if (data && data.message_id) ids.message_id = data.message_id;
      if (data && data.conversation_id) ids.conversation_id = data.conversation_id;
      view.handle(name, data);
    };
    if (conversation) {
      ids.conversation_id = conversation.id;
      await stream(`/v1/conversations/${encodeURIComponent(conversation.id)}/messages`, { question, stream: true }, onEvent);
    } else {
      await stream("/v1/answers", { question, collection: state.collection, stream: true }, onEvent);
    }
    view.addFeedback(ids);
    announce(view.element.classList.contains("abstained") ? "Not in your documents." : "Answer finished.");
  } catch (error) {
    view.fail(error.message || String(error));
    announce(error.message || "The answer failed.");
    if (fresh && conversation && !answered) await forgetConversation(conversation);
  }
  view.element.scrollIntoView({ block: "nearest" });
}

/** Delete a conversation made for a first question that was refused before any answer began (out of
 * credits, rate limited, a bad request), so the list keeps no empty conversation; asking again starts
 * a new one. */
async function forgetConversation(conversation) {
  try {
    await request("DELETE", `/v1/conversations/${encodeURIComponent(conversation.id)}`);
  } catch {
    return; // it stays listed, empty, and can be deleted by hand
  }
  if (current && current.id === conversation.id) {
    current = null;
    setTitle(null);
  }
  await loadConversations().catch(() => {});
}

export function initChat() {
  const form = $("ask-form");
  const input = $("question");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    busy = true;
    $("ask").disabled = true;
    input.value = "";
    try {
      await ask(question);
    } finally {
      busy = false;
      $("ask").disabled = false;
      input.focus();
    }
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  $("new-chat").addEventListener("click", newConversation);
  $("toggle-conversations").addEventListener("click", () => showConversationList(!$("conversations-body").closest(".sidebar").classList.contains("open")));
}
