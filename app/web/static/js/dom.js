// Small DOM helpers. Text from the server (model output, document text, names) goes in as text
// nodes, or as Markdown sanitised by DOMPurify; never as raw HTML.

/** An element with attributes (on* handlers are functions, not strings) and children (strings are text). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

const SAFE = {
  ALLOWED_TAGS: ["a", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre", "strong", "ul",
    "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "del", "hr"],
  ALLOWED_ATTR: ["href", "title"],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
};

function sanitise(html) {
  const clean = window.DOMPurify.sanitize(html, { ...SAFE, RETURN_DOM_FRAGMENT: true });
  for (const link of clean.querySelectorAll("a")) {
    link.setAttribute("rel", "noopener noreferrer nofollow");
    link.setAttribute("target", "_blank");
  }
  return clean;
}

/** Markdown (inline or block) as a sanitised fragment; plain text when the libraries did not load. */
export function markdown(text, inline) {
  if (!window.marked || !window.DOMPurify) return document.createTextNode(text);
  const html = inline ? window.marked.parseInline(text, { async: false }) : window.marked.parse(text, { async: false });
  return sanitise(html);
}

export function fileName(path) {
  const parts = String(path || "").split(/[\\/]/);
  return parts[parts.length - 1] || String(path || "");
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatNumber(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString();
}

export function formatTime(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

/** Announce a short message to screen readers. */
export function announce(text) {
  const status = document.getElementById("status");
  status.textContent = "";
  window.setTimeout(() => {
    status.textContent = text;
  }, 30);
}
