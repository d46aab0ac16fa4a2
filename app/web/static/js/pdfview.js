// A PDF citation's page, drawn with the vendored pdf.js from the uploaded file (fetched with the key,
// handed to pdf.js as bytes: no URL carries the key, and pdf.js runs without eval).

import { fetchBytes } from "./api.js";

const PDFJS = "/static/vendor/pdfjs-dist@6.5.438";
let library = null;
const documents = new Map();

async function pdfjs() {
  if (!library) {
    library = await import(`${PDFJS}/pdf.min.mjs`);
    library.GlobalWorkerOptions.workerSrc = `${PDFJS}/pdf.worker.min.mjs`;
  }
  return library;
}

async function openPdf(documentId) {
  if (!documents.has(documentId)) {
    const loading = (async () => {
      const data = await fetchBytes(`/v1/documents/${encodeURIComponent(documentId)}/file`);
      const lib = await pdfjs();
      return lib.getDocument({ data, isEvalSupported: false }).promise;
    })();
    loading.catch(() => documents.delete(documentId));
    documents.set(documentId, loading);
  }
  return documents.get(documentId);
}

/** Draw page `number` of the document into a new canvas `width` CSS pixels wide. */
export async function renderPage(documentId, number, width, label) {
  const pdf = await openPdf(documentId);
  const page = await pdf.getPage(number);
  const unscaled = page.getViewport({ scale: 1 });
  const ratio = window.devicePixelRatio || 1;
  const viewport = page.getViewport({ scale: (width / unscaled.width) * ratio });
  const canvas = document.createElement("canvas");
  canvas.width = Math.floor(viewport.width);
  canvas.height = Math.floor(viewport.height);
  canvas.className = "pdf-page";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport }).promise;
  return canvas;
}
