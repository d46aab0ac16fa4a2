// Collections (list, create, pick, delete), the documents of the picked one, and uploads whose
// per-file progress comes from the jobs API.

import { ApiError, request, uploadJob } from "./api.js";
import { announce, clear, el, fileName, formatBytes, formatNumber } from "./dom.js";
import { onCollectionChange, pendingCollections, pickCollection, setPendingCollections, state } from "./state.js";
import { confirmDialog, notify } from "./ui.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 500;
const JOBS_POLL_MS = 1000;
const ACTIVE_JOBS = new Set(["queued", "running"]);
let collections = [];
let jobsTimer = null;

/** Load the collections into the picker and the list (with those a job is filling for the first time);
 * `fetching` is the active jobs, when the caller has asked for them already. */
export async function loadCollections(fetching = activeJobs()) {
  const [page, jobs] = await Promise.all([request("GET", "/v1/collections"), fetching]);
  collections = page.data;
  const known = new Set(collections.map((c) => c.id));
  setPendingCollections(pendingCollections().filter((name) => !known.has(name)));
  const filling = new Set(jobs.map((job) => job.collection));
  const names = [...new Set([...known, ...pendingCollections(), ...filling, state.collection])].sort();
  renderPicker(names);
  renderCollectionList(names, filling);
}

/** The collection picker; left alone when its names are unchanged, so a reload (every second while a
 * job runs) does not close it under the user's pointer. */
function renderPicker(names) {
  const select = $("collection");
  const shown = [...select.options].map((option) => option.value);
  if (shown.join("\n") === names.join("\n") && select.value === state.collection) return;
  clear(select);
  for (const name of names) select.append(el("option", { value: name, selected: name === state.collection }, name));
}

function plural(n, word) {
  return `${formatNumber(n)} ${word}${n === 1 ? "" : "s"}`;
}

function renderCollectionList(names, filling) {
  const list = clear($("collections"));
  for (const name of names) {
    const stats = collections.find((c) => c.id === name);
    const counts = stats ? `${plural(stats.documents, "document")}, ${plural(stats.chunks, "chunk")}` : filling.has(name) ? "indexing…" : "empty";
    const pick = el("button", { type: "button", class: "link", "aria-pressed": String(name === state.collection) }, name);
    pick.addEventListener("click", () => pickCollection(name));
    const remove = el("button", { type: "button", class: "link small danger-text", "aria-label": `Delete collection ${name}` }, "Delete");
    remove.addEventListener("click", () => deleteCollection(name, Boolean(stats)));
    list.append(el("li", { class: name === state.collection ? "active" : null }, pick, el("span", { class: "muted small" }, ` ${counts} `), remove));
  }
}

async function deleteCollection(name, stored) {
  const ok = await confirmDialog(`Delete the collection “${name}” and every document in it? This cannot be undone.`);
  if (!ok) return;
  try {
    if (stored) await request("DELETE", `/v1/collections/${encodeURIComponent(name)}`);
    setPendingCollections(pendingCollections().filter((n) => n !== name));
    if (state.collection === name) pickCollection("default");
    await loadCollections();
    announce(`Collection ${name} deleted.`);
  } catch (error) {
    notify(error.message);
  }
}

/** A collection's documents; a collection the server does not know yet (nothing uploaded to it so far,
 * or everything deleted) has none. */
async function collectionDocuments(name) {
  try {
    return await request("GET", `/v1/documents?collection=${encodeURIComponent(name)}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "collection_not_found") return { data: [] };
    throw error;
  }
}

/** The ingest jobs still queued or running (none when the key may not see jobs). */
async function activeJobs() {
  try {
    const page = await request("GET", "/v1/jobs");
    return page.data.filter((job) => ACTIVE_JOBS.has(job.state));
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return [];
    throw error;
  }
}

function documentRow(d) {
  const name = fileName(d.source);
  const remove = el("button", { type: "button", class: "link small danger-text", "aria-label": `Delete ${name}` }, "Delete");
  remove.addEventListener("click", () => deleteDocument(d, name));
  const added = new Date(d.created_at);
  return el("tr", {},
    el("th", { scope: "row" }, name),
    el("td", {}, (d.type || "–").toUpperCase()),
    el("td", {}, formatBytes(d.bytes)),
    el("td", {}, d.pages === null || d.pages === undefined ? "–" : String(d.pages)),
    el("td", {}, formatNumber(d.chunks)),
    el("td", { title: added.toLocaleString() }, `Indexed ${added.toLocaleDateString()}`),
    el("td", {}, remove));
}

/** Rows for the files a job has still to index: the first one is being read while the job runs. */
function pendingRows(job) {
  return job.files.slice(job.files_done).map((name, i) => {
    const extension = name.includes(".") ? name.split(".").pop().toUpperCase() : "–";
    const status = job.state === "running" && i === 0 ? "Indexing…" : "Queued";
    return el("tr", { class: "pending" },
      el("th", { scope: "row" }, name),
      el("td", {}, extension), el("td", {}, "–"), el("td", {}, "–"), el("td", {}, "–"),
      el("td", { class: "muted" }, status),
      el("td", {}));
  });
}

/** Load the picked collection's documents into the table, with the files its jobs are still indexing;
 * while any are, the table reloads itself until they are done. */
export async function loadDocuments(fetching = activeJobs()) {
  window.clearTimeout(jobsTimer);
  const name = state.collection;
  $("upload-target").textContent = name;
  const [page, active] = await Promise.all([collectionDocuments(name), fetching]);
  const jobs = active.filter((job) => job.collection === name);
  const body = clear($("documents").tBodies[0]);
  const pending = jobs.flatMap(pendingRows);
  $("documents-empty").hidden = page.data.length + pending.length > 0;
  body.append(...pending, ...page.data.map(documentRow));
  if (jobs.length) jobsTimer = window.setTimeout(() => refresh().catch((e) => notify(e.message)), JOBS_POLL_MS);
}

async function deleteDocument(document_, name) {
  const ok = await confirmDialog(`Delete “${name}” from ${document_.collection}? Answers will no longer cite it.`);
  if (!ok) return;
  try {
    await request("DELETE", `/v1/documents/${encodeURIComponent(document_.id)}`);
    announce(`${name} deleted.`);
    await refresh();
  } catch (error) {
    notify(error.message);
  }
}

async function refresh() {
  const jobs = activeJobs();
  await Promise.all([loadCollections(jobs), loadDocuments(jobs)]);
}

function uploadRow(file) {
  const progress = el("progress", { max: "100", value: "0", "aria-label": `Progress of ${file.name}` });
  const status = el("span", { class: "upload-status" }, "Waiting to upload…");
  const row = el("li", { class: "upload" }, el("span", { class: "upload-name" }, file.name), progress, status);
  $("uploads").prepend(row);
  return {
    row,
    set(text, value, kind) {
      status.textContent = text;
      if (value === null) progress.removeAttribute("value");
      else progress.value = value;
      row.dataset.state = kind || "working";
    },
  };
}

function jobText(job) {
  if (job.state === "queued") return ["Queued for reading…", 35];
  if (job.state === "running") {
    const chunks = job.chunks_done ? `: ${formatNumber(job.chunks_done)} chunks so far` : "";
    return [`Reading and indexing${chunks}…`, null];
  }
  return null;
}

async function followJob(job, row) {
  for (;;) {
    const shown = jobText(job);
    if (!shown) break;
    row.set(shown[0], shown[1]);
    await new Promise((resolve) => window.setTimeout(resolve, POLL_MS));
    job = await request("GET", `/v1/jobs/${encodeURIComponent(job.id)}`);
  }
  if (job.state === "succeeded") {
    row.set(`Done: ${formatNumber(job.chunks_done)} chunks indexed.`, 100, "done");
  } else {
    const reasons = job.errors.map((e) => e.message).join("; ") || "the file could not be ingested";
    row.set(`Failed: ${reasons}`, 100, "failed");
  }
  return job;
}

async function uploadOne(file) {
  const row = uploadRow(file);
  const collection = state.collection;
  try {
    const job = await uploadJob(file, collection, (fraction) => {
      row.set(`Uploading ${Math.round(fraction * 100)}%…`, Math.round(fraction * 30));
    });
    const finished = await followJob(job, row);
    announce(`${file.name}: ${finished.state === "succeeded" ? "indexed" : "failed"}.`);
  } catch (error) {
    row.set(`Failed: ${error.message}`, 100, "failed");
    announce(`${file.name} failed.`);
  }
}

/** Upload files one job each, in parallel, then refresh the lists. */
export async function uploadFiles(files) {
  await Promise.all([...files].map(uploadOne));
  await refresh().catch((error) => notify(error.message));
}

function initDropzone() {
  const zone = $("dropzone");
  const input = $("file-input");
  input.addEventListener("change", () => {
    if (input.files.length) uploadFiles(input.files);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) zone.addEventListener(name, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) uploadFiles(e.dataTransfer.files);
  });
}

export function initDocuments() {
  initDropzone();
  $("collection").addEventListener("change", (e) => pickCollection(e.target.value));
  $("collection-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("new-collection");
    const name = input.value.trim();
    if (!name) return;
    setPendingCollections([...pendingCollections(), name]);
    input.value = "";
    pickCollection(name);
    announce(`Collection ${name} created: upload documents to fill it.`);
  });
  onCollectionChange(() => refresh().catch((error) => notify(error.message)));
}
