// What the page shares between its parts: the picked collection and what the server offers.

const COLLECTION_KEY = "verity.collection";
const PENDING_KEY = "verity.newCollections";

export const state = {
  collection: sessionStorage.getItem(COLLECTION_KEY) || "default",
  conversationsApi: true,
  listeners: [],
};

/** Pick a collection, and tell the parts that show it. */
export function pickCollection(name) {
  state.collection = name;
  sessionStorage.setItem(COLLECTION_KEY, name);
  for (const listener of state.listeners) listener(name);
}

export function onCollectionChange(listener) {
  state.listeners.push(listener);
}

/** Collections created in this tab that hold no document yet (the server lists only non-empty ones). */
export function pendingCollections() {
  try {
    return JSON.parse(sessionStorage.getItem(PENDING_KEY) || "[]");
  } catch (_) {
    return [];
  }
}

export function setPendingCollections(names) {
  sessionStorage.setItem(PENDING_KEY, JSON.stringify([...new Set(names)]));
}
