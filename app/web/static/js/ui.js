// Page-wide pieces: notices (errors a person can act on), confirmation and naming dialogs.

import { el } from "./dom.js";

/** Show a notice at the top of the page; kind is "error" or "info". Returns the notice element. */
export function notify(message, kind = "error") {
  const box = document.getElementById("notices");
  const notice = el("div", { class: `notice ${kind}` },
    el("p", {}, message),
    el("button", { type: "button", class: "link", "aria-label": "Dismiss this message", onclick: () => notice.remove() }, "Dismiss"));
  box.append(notice);
  return notice;
}

export function clearNotices() {
  document.getElementById("notices").replaceChildren();
}

/** Ask for confirmation in a modal dialog; resolves to true when confirmed. */
export function confirmDialog(text, action = "Delete") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

/** Ask for a short text in a modal dialog; resolves to the text, or null when cancelled. */
export function promptDialog(label, value) {
  const dialog = document.getElementById("prompt");
  const input = document.getElementById("prompt-input");
  document.getElementById("prompt-label").textContent = label;
  input.value = value || "";
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      const text = input.value.trim();
      resolve(dialog.returnValue === "ok" && text ? text : null);
    }, { once: true });
    input.onkeydown = (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        dialog.close("ok");
      }
    };
    dialog.returnValue = "cancel";
    dialog.showModal();
    input.select();
  });
}
