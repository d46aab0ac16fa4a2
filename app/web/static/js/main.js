// Start-up: find out whether the server needs a key, sign in, and switch between the views.

import { ApiError, apiKey, request, setApiKey } from "./api.js";
import { initChat, loadConversations } from "./chat.js";
import { initDocuments, loadCollections, loadDocuments } from "./documents.js";
import { initPassage } from "./passage.js";
import { clearNotices, notify } from "./ui.js";
import { loadUsage } from "./usage.js";

const $ = (id) => document.getElementById(id);

function showView(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-pressed", String(tab.dataset.view === name));
  if (name === "usage") loadUsage().catch((error) => notify(error.message));
  if (name === "documents") loadDocuments().catch((error) => notify(error.message));
}

/** The account, or (for a key whose scopes leave out usage) what can be said without it. */
async function account() {
  try {
    return await request("GET", "/v1/account");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { tenant: null, auth_enabled: true };
    throw error;
  }
}

function showSignIn(message) {
  for (const view of document.querySelectorAll(".view")) view.hidden = true;
  $("views-nav").hidden = true;
  $("picker").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("api-key").focus();
}

async function enter(account) {
  $("signin").hidden = true;
  $("views-nav").hidden = false;
  $("picker").hidden = false;
  $("who").textContent = account.tenant ? `Tenant: ${account.tenant}` : "Signed in";
  $("sign-out").hidden = !account.auth_enabled;
  if (!account.auth_enabled) {
    notify("Authentication is off on this server: no API key is needed, and everyone shares the tenant “default”.", "info");
  }
  showView("chat");
  await Promise.all([loadCollections(), loadConversations()]).catch((error) => notify(error.message));
}

async function start() {
  const had = apiKey();
  try {
    await enter(await account());
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setApiKey(null);
      showSignIn(had ? error.message : "");
    } else {
      showSignIn(error.message);
    }
  }
}

function initSignIn() {
  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) return;
    setApiKey(key);
    try {
      const found = await account();
      $("api-key").value = "";
      clearNotices();
      await enter(found);
    } catch (error) {
      setApiKey(null);
      $("signin-error").textContent = error.message;
      $("api-key").focus();
    }
  });
  $("sign-out").addEventListener("click", () => {
    setApiKey(null);
    clearNotices();
    showSignIn("Signed out: the key was removed from this tab.");
  });
}

function initViews() {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("usage-refresh").addEventListener("click", () => loadUsage().catch((error) => notify(error.message)));
}

initSignIn();
initViews();
initPassage();
initChat();
initDocuments();
start();
