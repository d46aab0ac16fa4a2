// The HTTP API as the UI uses it: the key kept in this tab's sessionStorage and sent as a Bearer
// header (never in a URL), errors turned into messages a person can act on, and server-sent events
// read from a fetch() body (EventSource cannot send an Authorization header).

const KEY_NAME = "verity.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_NAME, key);
  else sessionStorage.removeItem(KEY_NAME);
}

export class ApiError extends Error {
  constructor(status, message, code, retryAfter) {
    super(message);
    this.status = status;
    this.code = code || null;
    this.retryAfter = retryAfter;
  }
}

function retryAfterSeconds(response) {
  const value = response && response.headers.get("Retry-After");
  const seconds = value === null || value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : null;
}

function wait(seconds) {
  return seconds === null ? "in a moment" : `in ${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** What to tell a person for an API error: what happened and what to do about it. */
export function actionableMessage(status, serverMessage, retryAfter) {
  const said = serverMessage ? ` (the server said: ${serverMessage})` : "";
  switch (status) {
    case 0:
      return "Cannot reach the Verity server. Check that it is running, then try again.";
    case 400:
      return `The request was not accepted${said}. Check what you entered and try again.`;
    case 401:
      return `Your API key was not accepted${said}. Sign in again with a valid key.`;
    case 402:
      return `Your tenant has run out of credits for this request${said}. Ask your operator to grant more credits, then try again.`;
    case 403:
      return `This API key is not allowed to do that${said}. Use a key whose scopes include it, or ask your operator.`;
    case 404:
      return `Not found${said}. It may have been deleted; reload the list.`;
    case 409:
      return `Another version of this file is already filed${said}. Delete it first, or upload it with a different name.`;
    case 413:
      return `The file is larger than this server accepts${said}. Split it into smaller files, or ask your operator to raise VERITY_MAX_UPLOAD_MB.`;
    case 415:
      return `Verity cannot read this type of file${said}. Upload PDF, Word, PowerPoint, Excel, HTML, Markdown, CSV or text files.`;
    case 422:
      return `The file or request could not be read${said}. It may be corrupt, encrypted, empty or mislabelled.`;
    case 429:
      return `Too many requests: a rate limit was reached${said}. Try again ${wait(retryAfter)}.`;
    case 503:
      return `The server is busy or a model is unavailable${said}. Try again ${wait(retryAfter)}.`;
    default:
      return status >= 500
        ? `The server failed${said}. Try again; if it keeps failing, tell your operator.`
        : `The request failed with status ${status}${said}.`;
  }
}

async function errorFrom(response) {
  let message = "";
  let code = null;
  try {
    const body = await response.json();
    message = (body && body.error && body.error.message) || "";
    code = (body && body.error && body.error.code) || null;
  } catch (_) {
    message = "";
  }
  const retry = retryAfterSeconds(response);
  return new ApiError(response.status, actionableMessage(response.status, message, retry), code, retry);
}

function headers(extra) {
  const all = { Accept: "application/json", ...extra };
  const key = apiKey();
  if (key) all.Authorization = `Bearer ${key}`;
  return all;
}

async function send(method, path, body, accept) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (accept) init.headers.Accept = accept;
  if (body !== undefined) init.body = JSON.stringify(body);
  try {
    return await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, actionableMessage(0), "network", null);
  }
}

/** A JSON request; resolves to the parsed body, or throws an ApiError. */
export async function request(method, path, body) {
  const response = await send(method, path, body);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

function parseFrame(frame) {
  let event = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return { event, data: data.join("\n") };
}

/**
 * POST a JSON body and read the server-sent events of the response, calling onEvent(name, data)
 * for each one; resolves at `[DONE]`. An `error` event or a refused request throws an ApiError.
 */
export async function stream(path, body, onEvent) {
  const response = await send("POST", path, body, "text/event-stream");
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    buffer = buffer.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = parseFrame(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (!frame.data) continue;
      if (frame.data === "[DONE]") return;
      const data = JSON.parse(frame.data);
      if (frame.event === "error") {
        const e = data.error || {};
        const status = errorStatus(e);
        throw new ApiError(status, actionableMessage(status, e.message || ""), e.code || null, null);
      }
      onEvent(frame.event, data);
    }
    if (done) {
      throw new ApiError(0, "The answer stream ended early. Try again.", "stream_ended", null);
    }
  }
}

function errorStatus(error) {
  const byCode = { insufficient_quota: 402, rate_limit_exceeded: 429, model_unavailable: 503 };
  if (byCode[error.code]) return byCode[error.code];
  return error.type === "server_error" ? 500 : 400;
}

/**
 * Upload one file as an ingest job (multipart), reporting upload progress as a fraction;
 * resolves to the job, or rejects with an ApiError.
 */
export function uploadJob(file, collection, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("collection", collection);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/jobs");
    const key = apiKey();
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, actionableMessage(0), "network", null));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
        return;
      }
      const message = (body && body.error && body.error.message) || "";
      const seconds = Number(xhr.getResponseHeader("Retry-After"));
      const retry = Number.isFinite(seconds) && xhr.getResponseHeader("Retry-After") !== null ? seconds : null;
      reject(new ApiError(xhr.status, actionableMessage(xhr.status, message, retry), null, retry));
    };
    xhr.send(form);
  });
}

/** A binary GET (a document's original file) as bytes, or an ApiError. */
export async function fetchBytes(path) {
  const response = await send("GET", path, undefined, "*/*");
  if (!response.ok) throw await errorFrom(response);
  return new Uint8Array(await response.arrayBuffer());
}
