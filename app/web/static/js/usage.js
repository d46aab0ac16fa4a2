// The usage panel: credits left with their expiry, requests and tokens today, the rate limits.

import { request } from "./api.js";
import { clear, el, formatNumber, formatTime } from "./dom.js";

function row(name, value) {
  return [el("dt", {}, name), el("dd", {}, value)];
}

function limits(rpm, tpm, streams) {
  const set = [[rpm, "requests a minute"], [tpm, "tokens a minute"], [streams, "answers streaming at once"]]
    .filter(([value]) => value !== null && value !== undefined)
    .map(([value, unit]) => `${formatNumber(value)} ${unit}`);
  return set.length ? set.join(", ") : "none";
}

function creditsSection(credits) {
  if (!credits.enforced) {
    return el("section", {}, el("h3", {}, "Credits"), el("p", {}, "Credits are not enforced for this tenant."));
  }
  const expiry = credits.next_expiry ? `the next block expires ${formatTime(credits.next_expiry)}` : "no expiry";
  const list = el("dl", { class: "meta" },
    ...row("Credits left", formatNumber(credits.balance)),
    ...row("Expiry", expiry));
  const blocks = credits.blocks.map((b) => el("li", {},
    `${formatNumber(b.remaining)} of ${formatNumber(b.amount)} left, `,
    b.expires_at ? `expires ${formatTime(b.expires_at)}` : "never expires"));
  return el("section", {}, el("h3", {}, "Credits"), list,
    blocks.length ? el("ul", { class: "blocks" }, ...blocks) : el("p", {}, "No credits left: ask your operator for more."));
}

/** Load and show the tenant's account. */
export async function loadUsage() {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const account = await request("GET", `/v1/account?since=${Math.floor(midnight.getTime() / 1000)}`);
  const t = account.today;
  const l = account.limits;
  clear(document.getElementById("usage")).append(
    el("p", {}, "Tenant ", el("strong", {}, account.tenant), account.key_id ? ` (key ${account.key_id})` : ""),
    creditsSection(account.credits),
    el("section", {}, el("h3", {}, "Today"), el("dl", { class: "meta" },
      ...row("Requests", formatNumber(t.requests)),
      ...row("Refused", formatNumber(t.refused)),
      ...row("Tokens", formatNumber(t.tokens)),
      ...row("Credits spent", formatNumber(t.credits)))),
    el("section", {}, el("h3", {}, "Rate limits"), el("dl", { class: "meta" },
      ...row("Per key", limits(l.key_rpm, l.key_tpm, l.key_streams)),
      ...row("Per tenant", limits(l.tenant_rpm, l.tenant_tpm, l.tenant_streams)))));
  return account;
}
