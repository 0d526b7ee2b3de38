// The numbers page: submit, watch queued → stored, browse stored values and
// the system's figures. Plain JavaScript, no build step, no dependencies.
// Values stay strings end to end: JSON numbers beyond 2^53 lose precision in
// JavaScript, so the page sends strings and reads value_text.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
const STATS_EVERY_MS = 2000;

// ---- helpers ----
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  e.append(...children);
  return e;
}

function fmtDuration(seconds) {
  if (seconds == null) return "–";
  if (seconds < 1) return Math.round(seconds * 1000) + " ms";
  if (seconds < 60) return seconds.toFixed(1) + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
  return (seconds / 3600).toFixed(1) + " h";
}

const intFmt = new Intl.NumberFormat();
function fmtCount(n) { return n == null ? "–" : intFmt.format(n); }

// Timestamps carry microseconds; Date keeps milliseconds, enough for display.
function ms(ts) { return Date.parse(ts); }

function fmtTime(ts) {
  const d = new Date(ms(ts));
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body };
}

// ---- status strip ----
let statsTimer = null;

function setStat(id, text, warn) {
  const dd = $(id);
  dd.textContent = text;
  dd.parentElement.classList.toggle("warn", !!warn);
}

async function loadStats() {
  try {
    const { ok, status, body: s } = await getJSON("/api/stats");
    if (!ok) throw new Error("status " + status);
    setStat("stat-stored", fmtCount(s.stored_count) + (s.stored_count != null && !s.stored_count_exact ? " (est.)" : ""));
    setStat("stat-queue", fmtCount(s.queue_depth));
    setStat("stat-dlq", fmtCount(s.dlq_depth), s.dlq_depth > 0);
    setStat("stat-oldest", fmtDuration(s.oldest_message_age_seconds), s.oldest_message_age_seconds > 60);
    setStat("stat-lag", fmtDuration(s.worker_lag_seconds), s.worker_lag_seconds > 10);
    let note = "Updated " + new Date(ms(s.as_of)).toLocaleTimeString() + ".";
    if (s.unavailable && s.unavailable.length) note += " Unavailable: " + s.unavailable.join(", ") + ".";
    if (s.worker_lag_seconds == null) note += " Worker lag: no numbers in the last minute.";
    $("stats-note").textContent = note;
  } catch (e) {
    $("stats-note").textContent = "Could not load the figures (" + e.message + ").";
  }
}

function scheduleStats() {
  clearTimeout(statsTimer);
  if (document.hidden) return; // no polling from a background tab
  statsTimer = setTimeout(async () => { await loadStats(); scheduleStats(); }, STATS_EVERY_MS);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) { loadStats(); scheduleStats(); }
});

// ---- stored values, newest first, keyset pages ----
// cursors[i] is the cursor of page i ("" for the first).
let cursors = [""];
let pageIndex = 0;
let nextCursor = "";
let freshIDs = new Set();

async function loadPage(index) {
  const cursor = cursors[index];
  const url = "/api/values?limit=" + PAGE_SIZE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
  $("stored-table").setAttribute("aria-busy", "true");
  try {
    const { ok, status, body } = await getJSON(url);
    if (!ok) {
      $("stored-error").textContent = "Could not load stored values: " + (body.error || "status " + status) + ".";
      return;
    }
    $("stored-error").textContent = "";
    pageIndex = index;
    nextCursor = body.next_cursor || "";
    cursors[index + 1] = nextCursor;
    cursors.length = index + (nextCursor ? 2 : 1);
    const rows = body.values.map((v) => {
      const lag = (ms(v.stored_at) - ms(v.accepted_at)) / 1000;
      const tr = el("tr", {},
        el("td", { className: "num value", textContent: v.value_text }),
        el("td", { className: "accepted", textContent: fmtTime(v.accepted_at) }),
        el("td", { className: "num", textContent: fmtDuration(Math.max(0, lag)) }));
      tr.dataset.id = v.id;
      if (freshIDs.has(v.id)) tr.className = "fresh";
      return tr;
    });
    $("stored").replaceChildren(...rows);
    $("stored-empty").hidden = rows.length > 0 || index > 0;
    $("page-label").textContent = "Page " + (index + 1);
    $("newer").disabled = index === 0;
    $("newest").disabled = index === 0;
    $("older").disabled = !nextCursor;
  } catch (e) {
    $("stored-error").textContent = "Could not load stored values (" + e.message + ").";
  } finally {
    $("stored-table").removeAttribute("aria-busy");
    $("stored-loading").hidden = true; // shown only until the first answer
  }
}

// ---- submit and follow ----
function showError(msg) {
  $("value-error").textContent = msg;
  if (msg) $("value").setAttribute("aria-invalid", "true");
  else $("value").removeAttribute("aria-invalid");
}

function mineItem(text, id) {
  const badge = el("span", { className: "badge queued", textContent: "queued" });
  const meta = el("span", { className: "meta", textContent: "id " + id.slice(0, 8) + "…" });
  const li = el("li", {}, el("span", { className: "value", textContent: text }), badge, meta);
  li.dataset.id = id;
  li.dataset.status = "queued";
  return { li, badge, meta };
}

// follow polls GET /api/values/{id} (404 until stored) with a growing delay.
async function follow(id, item, sentAt) {
  let delay = 100;
  const giveUp = Date.now() + 120000;
  while (Date.now() < giveUp) {
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 1.5, 2000);
    let r;
    try { r = await fetch("/api/values/" + id); } catch { continue; }
    if (r.status === 404) continue;
    if (!r.ok) continue;
    const v = await r.json();
    item.badge.className = "badge stored";
    item.badge.textContent = "stored";
    item.li.dataset.status = "stored";
    const lag = (ms(v.stored_at) - ms(v.accepted_at)) / 1000;
    item.meta.textContent = "stored " + fmtDuration(Math.max(0, lag)) + " after it was accepted";
    freshIDs.add(id);
    if (pageIndex === 0) loadPage(0);
    loadStats();
    return;
  }
  item.badge.className = "badge failed";
  item.badge.textContent = "not stored yet";
  item.meta.textContent = "still queued after 2 minutes: see the status strip";
}

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("value");
  const text = input.value.trim();
  if (text === "") { showError("Enter a whole number."); input.focus(); return; }
  const button = $("submit");
  button.disabled = true;
  try {
    const r = await fetch("/api/values", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ value: text }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.status !== 202) {
      let msg = body.error || "The request failed (status " + r.status + ").";
      if (r.status === 400) msg = "Not accepted: " + msg;
      if (r.status === 503) msg = "The service is busy or a dependency is down: nothing was queued. Try again shortly.";
      showError(msg);
      input.focus();
      return;
    }
    showError("");
    input.value = "";
    const item = mineItem(text, body.id);
    $("mine").prepend(item.li);
    $("mine-empty").hidden = true;
    follow(body.id, item, Date.now());
  } catch (err) {
    showError("Could not reach the server (" + err.message + ").");
  } finally {
    button.disabled = false;
  }
});

$("value").addEventListener("input", () => { if ($("value-error").textContent) showError(""); });
$("reload").addEventListener("click", () => { loadPage(pageIndex); loadStats(); });
$("newest").addEventListener("click", () => loadPage(0));
$("newer").addEventListener("click", () => { if (pageIndex > 0) loadPage(pageIndex - 1); });
$("older").addEventListener("click", () => { if (nextCursor) loadPage(pageIndex + 1); });

loadPage(0);
loadStats();
scheduleStats();
