// The mockchats dashboard: a view of the control plane (/_mock), nothing more. Every value it
// shows came from a documented control call a script could make; every change it makes is one.
// Text from the mock (message texts, journal bodies, names) is written with textContent only:
// the page never parses anything it is given as HTML.
"use strict";

const ROOT = "/_mock";
const TOKEN_KEY = "mockchats.adminToken";
const JOURNAL_KEEP = 1000;    // rows the page keeps, as the mock's journal keeps its latest
const STATUS_EVERY_MS = 3000;

let adminToken = sessionStorage.getItem(TOKEN_KEY);
// The page is told whether the mock runs with --admin-token, so it asks before its first call
// rather than after a refused one.
const tokenRequired = document.querySelector('meta[name="mockchats-admin-token"]').content === "required";
const operations = new Map();  // operationId -> {method, path}, from the APIs' documents

// ---- helpers -------------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ControlError extends Error {
  // The control plane's refusal, said as it said it: a problem's detail and its errors.
  constructor(status, body) {
    const lines = [];
    if (status === 0) {
      lines.push(`Not reached: ${body}`);
    } else if (body && typeof body === "object") {
      lines.push(`Refused (${status}): ${body.detail || body.title || "no reason given"}`);
      for (const [place, messages] of Object.entries(body.errors || {})) {
        for (const message of [].concat(messages)) lines.push(`${place}: ${message}`);
      }
    } else {
      lines.push(status === 401 ? "Refused (401): the admin token is missing or wrong."
        : `Refused (${status})${typeof body === "string" && body ? `: ${body}` : ""}`);
    }
    super(lines.join("\n"));
    this.status = status;
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (adminToken) headers.Authorization = `Bearer ${adminToken}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(ROOT + path, init);
  } catch (error) {
    throw new ControlError(0, "the mock cannot be reached (is it still running?)");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (response.status === 401) askForToken();
  if (!response.ok) throw new ControlError(response.status, data);
  return data;
}

function showError(target, error) {
  target.textContent = error ? String(error.message || error) : "";
}

function pretty(text) {
  // JSON shown indented, character for character as sent otherwise: re-indented, never parsed
  // again (a parse would round big numbers, merge repeated keys and decode escapes). Anything
  // that is not JSON comes back as it came.
  if (text === null || text === undefined || text === "") return "";
  try { JSON.parse(text); } catch { return String(text); }
  let out = "";
  let depth = 0;
  let inString = false;
  const newline = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") { out += text[i + 1] ?? ""; i += 1; } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let j = i + 1;
      while (/\s/.test(text[j] ?? "")) j += 1;
      if (text[j] === close) { out += c + close; i = j; continue; }  // {} and [] stay as they are
      depth += 1;
      out += c + newline();
    } else if (c === "}" || c === "]") {
      depth -= 1;
      out += newline() + c;
    } else if (c === ",") {
      out += c + newline();
    } else if (c === ":") {
      out += ": ";
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

function clock(iso) {
  // 2025-06-26T08:48:07.13Z -> 08:48:07.130 (UTC, as the journal records it)
  const match = /T(\d\d:\d\d:\d\d)(\.\d+)?/.exec(iso || "");
  return match ? match[1] + (match[2] || ".000").padEnd(4, "0").slice(0, 4) : String(iso);
}

async function copy(text, button) {
  let copied = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (a page not on localhost or https): select it in a field instead.
    const field = el("textarea", { className: "visually-hidden" }, text);
    document.body.append(field);
    field.select();
    copied = document.execCommand("copy");
    field.remove();
  }
  const label = button.textContent;
  button.textContent = copied ? "Copied" : "Copy failed: select the text";
  setTimeout(() => { button.textContent = label; }, 1500);
}

function copyButton(text, what) {
  return el("button", { type: "button", className: "copy", "aria-label": `Copy ${what}`,
    onclick: (event) => copy(text, event.currentTarget) }, "Copy");
}

// ---- the admin token -----------------------------------------------------------------------

function askForToken() {
  const form = $("#token-form");
  if (!form.hidden) return;
  form.hidden = false;
  $("#token-error").textContent = adminToken ? "That token was refused." : "";
  $("#token-input").focus();
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  adminToken = $("#token-input").value.trim();
  sessionStorage.setItem(TOKEN_KEY, adminToken);
  $("#token-form").hidden = true;
  start();
});

// ---- views ---------------------------------------------------------------------------------

const views = ["journal", "sessions", "messages", "controls"];
let currentView = "journal";

function showView(name) {
  currentView = name;
  for (const view of views) $(`#view-${view}`).hidden = view !== name;
  for (const button of document.querySelectorAll("nav button")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === name));
  }
  if (name === "sessions") loadSessions();
  if (name === "messages") loadMessageSessions();
  if (name === "controls") loadControls();
}

for (const button of document.querySelectorAll("nav button")) {
  button.addEventListener("click", () => showView(button.dataset.view));
}

async function refreshStatus() {
  // false when the control plane wants the admin token: nothing else is asked for until it is given
  try {
    const index = await call("GET", "");
    const s = index.status;
    $("#status").textContent = `auth ${s.auth} · seed ${s.seed} · scenario ${s.scenario ?? "(start)"} · `
      + `${s.sessions} session${s.sessions === 1 ? "" : "s"} · ${s.messages} message${s.messages === 1 ? "" : "s"}`;
  } catch (error) {
    $("#status").textContent = `Not connected: ${error.message}`;
    if (error.status === 401) return false;
  }
  return true;
}

async function loadOperations() {
  // The APIs' own documents name every operation (the fault form and the journal filter list them).
  for (const document_ of ["/openapi/chats.json", "/openapi/sessions.json"]) {
    try {
      const response = await fetch(document_, { cache: "no-store" });
      if (!response.ok) continue;
      const spec = await response.json();
      const base = new URL((spec.servers && spec.servers[0] && spec.servers[0].url) || "/", location.href).pathname
        .replace(/\/$/, "");
      for (const [path, item] of Object.entries(spec.paths || {})) {
        for (const [method, operation] of Object.entries(item)) {
          if (operation && operation.operationId) {
            operations.set(operation.operationId, { method: method.toUpperCase(), path: base + path });
          }
        }
      }
    } catch { /* a document that cannot be read leaves its operations out of the lists */ }
  }
  const names = [...operations.keys()].sort();
  for (const select of [$("#filter-operation"), $("#fault-operation")]) {
    for (const name of names) {
      const { method, path } = operations.get(name);
      select.append(el("option", { value: name }, `${name} (${method} ${path})`));
    }
  }
}

// ---- journal -------------------------------------------------------------------------------

const journal = [];          // newest first
const seen = new Set();
let lastId = 0;
let paused = false;
let heldBack = [];
let stream = null;
let streamRetry = null;

function statusText(entry) {
  return entry.status === null || entry.status === undefined ? "dropped" : String(entry.status);
}

function passes(entry) {
  const kind = $("#filter-kind").value;
  if (kind !== "all" && (entry.kind || "http") !== kind) return false;
  if (entry.kind === "hub") return passesHub(entry);
  const operation = $("#filter-operation").value;
  const status = $("#filter-status").value;
  const user = $("#filter-user").value.trim();
  if (operation && entry.operationId !== operation) return false;
  if (status === "dropped" && entry.status !== null) return false;
  if (status && status !== "dropped" && !(entry.status !== null && String(entry.status)[0] === status)) return false;
  // As the journal's own user filter: the id exactly, the name in any case.
  if (user && !(entry.user && (entry.user.id === user || entry.user.name.toLowerCase() === user.toLowerCase()))) {
    return false;
  }
  if ($("#filter-flagged").checked && !entry.violations.length && !entry.warnings.length) return false;
  return true;
}

function passesHub(entry) {
  // The REST filters (operation, status, flagged) say nothing of a hub step: set, they leave it
  // out, as the journal's own filters do; the user filter matches its user's id.
  if ($("#filter-operation").value || $("#filter-status").value || $("#filter-flagged").checked) return false;
  const user = $("#filter-user").value.trim();
  return !user || entry.userId === user;
}

function hubRow(entry) {
  // One step of a hub connection: negotiate, connect, disconnect, an event sent, a message received.
  const what = entry.action === "sent" ? `sent ${entry.detail.target ?? ""}` : entry.action;
  const status = entry.action === "negotiate" && entry.detail.status !== undefined ? String(entry.detail.status) : "—";
  const expand = el("button", { type: "button", className: "expand", "aria-expanded": "false",
    "aria-label": `${clock(entry.time)} ${entry.hub} hub ${what}: show the details` }, clock(entry.time));
  const tr = el("tr", { className: "entry hub", "data-id": entry.id },
    el("td", { title: entry.time }, expand),
    el("td", {}, "HUB"),
    el("td", { className: "path" }, `/v1/hubs/${entry.hub}${entry.transport ? ` (${entry.transport})` : ""}`),
    el("td", {}, what),
    el("td", {}, entry.userId ? (sessionUsers.get(entry.userId) || { name: entry.userId }).name : "—"),
    el("td", { className: `status s${status[0]}` }, status),
    el("td", { className: "number" }, "—"),
    el("td", { className: "contract" }, el("span", { className: "badge" }, "hub")));
  tr.addEventListener("click", (event) => {
    if (event.target.closest("a, button:not(.expand), input, select")) return;
    const button = $("button.expand", tr);
    const next = tr.nextElementSibling;
    if (button.getAttribute("aria-expanded") === "true") {
      if (next && next.classList.contains("detail-row")) next.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const list = el("dl", { className: "request" });
    definitionList(list, [["Connection", entry.connectionId ?? "(none yet)"], ["Session", entry.sessionId ?? "—"],
      ["User", entry.userId ?? "—"], ["Transport", entry.transport ?? "—"],
      ["Detail", pretty(JSON.stringify(entry.detail)), true]]);
    tr.after(el("tr", { className: "detail-row" }, el("td", { colspan: 8 }, el("div", { className: "detail" }, list))));
    button.setAttribute("aria-expanded", "true");
  });
  return tr;
}

function contractCell(entry) {
  const cell = el("td", { className: "contract" });
  if (entry.violations.length) {
    cell.append(el("span", { className: "badge bad" },
      `✗ ${entry.violations.length} violation${entry.violations.length === 1 ? "" : "s"}`));
  }
  if (entry.warnings.length) {
    cell.append(el("span", { className: "badge warn" },
      `! ${entry.warnings.length} warning${entry.warnings.length === 1 ? "" : "s"}`));
  }
  if (!cell.childNodes.length) cell.append(el("span", { className: "badge ok" }, "ok"));
  return cell;
}

function queryText(query) {
  // {"Take": ["5"]} -> "?Take=5", as the client sent it (the journal keeps every value)
  const pairs = Object.entries(query || {}).flatMap(([name, values]) => values.map((value) => [name, value]));
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}

function row(entry) {
  if (entry.kind === "hub") return hubRow(entry);
  const status = statusText(entry);
  const expand = el("button", { type: "button", className: "expand", "aria-expanded": "false",
    "aria-label": `${clock(entry.time)} ${entry.method} ${entry.path}: show the request and the answer` },
  clock(entry.time));
  const tr = el("tr", {
    className: ["entry", entry.violations.length ? "violation" : "", entry.warnings.length ? "warning" : ""]
      .filter(Boolean).join(" "),
    "data-id": entry.id,
  },
  el("td", { title: entry.time }, expand),
  el("td", {}, entry.method),
  el("td", { className: "path" }, entry.path + queryText(entry.query)),
  el("td", {}, entry.operationId ?? "—"),
  el("td", {}, entry.user ? `${entry.user.name} (${entry.user.role})` : "—"),
  el("td", { className: `status s${status[0]}` }, status),
  el("td", { className: "number" }, entry.durationMs),
  contractCell(entry));
  // The button is what a keyboard reaches (Enter, Space); a click anywhere on the row does the same.
  tr.addEventListener("click", (event) => {
    if (event.target.closest("a, button:not(.expand), input, select")) return;
    toggleDetail(tr, entry);
  });
  return tr;
}

function definitionList(list, pairs) {
  for (const [term, value, preformatted] of pairs) {
    list.append(el("dt", {}, term));
    list.append(el("dd", {}, preformatted ? el("pre", {}, value) : value));
  }
}

function headerText(headers) {
  return Object.entries(headers || {}).map(([name, value]) => `${name}: ${value}`).join("\n");
}

function toggleDetail(tr, entry) {
  const button = $("button.expand", tr);
  const open = button.getAttribute("aria-expanded") === "true";
  const next = tr.nextElementSibling;
  if (open) {
    if (next && next.classList.contains("detail-row")) next.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const detail = $("#entry-detail").content.cloneNode(true);
  const request = $(".request", detail);
  const response = $(".response", detail);
  const query = entry.query && Object.keys(entry.query).length ? JSON.stringify(entry.query, null, 2) : "(none)";
  definitionList(request, [
    ["Query", query, true],
    ["Headers", headerText(entry.headers) || "(not recorded)", true],
    ["Body", entry.body === null ? "(none)" : pretty(entry.body), true],
  ]);
  if (entry.bodyTruncated) definitionList(request, [["Note", "The body was longer: its first 64 KiB are shown."]]);
  if (entry.violations.length) {
    definitionList(request, [["Violations", el("ul", {}, ...entry.violations.map((v) => el("li", {}, v)))]]);
  }
  if (entry.warnings.length) {
    definitionList(request, [["Warnings", el("ul", {}, ...entry.warnings.map((w) => el("li", {}, w)))]]);
  }
  const answer = entry.response;
  if (answer) {
    definitionList(response, [
      ["Status", answer.status === null ? "dropped (no answer)" : String(answer.status)],
      ["Headers", headerText(answer.headers) || "(none)", true],
      ["Body", answer.body === null ? "(none)" : pretty(answer.body), true],
    ]);
    if (answer.bodyTruncated) {
      definitionList(response, [["Note", "The body was longer: its first 64 KiB are shown."]]);
    }
  } else {
    definitionList(response, [["Status", statusText(entry)]]);
  }
  const cell = el("td", { colspan: 8 });
  cell.append(detail);
  tr.after(el("tr", { className: "detail-row" }, cell));
  button.setAttribute("aria-expanded", "true");
}

function showJournalHints() {
  $("#journal-empty").hidden = journal.length > 0;
  $("#journal-hidden").hidden = !journal.length || $("#journal tbody tr.entry") !== null;
}

function renderJournal() {
  const body = $("#journal tbody");
  body.replaceChildren(...journal.filter(passes).map(row));
  showJournalHints();
}

function forgetJournal() {
  // What the view shows is gone from the mock (a reset, another mock): start the view afresh.
  journal.length = 0;
  seen.clear();
  heldBack = [];
  $("#paused-count").textContent = "";
  renderJournal();
}

function addEntries(entries) {
  // entries oldest first; the table shows the newest first
  const body = $("#journal tbody");
  for (const entry of entries) {
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    lastId = Math.max(lastId, entry.id);
    journal.unshift(entry);
    if (passes(entry)) body.prepend(row(entry));
  }
  while (journal.length > JOURNAL_KEEP) {
    const gone = journal.pop();
    seen.delete(gone.id);
    const tr = body.querySelector(`tr[data-id="${gone.id}"]`);
    if (tr) {
      if (tr.nextElementSibling && tr.nextElementSibling.classList.contains("detail-row")) tr.nextElementSibling.remove();
      tr.remove();
    }
  }
  showJournalHints();
}

function receive(entry) {
  if (paused) {
    heldBack.push(entry);
    if (heldBack.length > JOURNAL_KEEP) heldBack.shift();  // the view keeps no more than that anyway
    $("#paused-count").textContent = `${heldBack.length} new while paused`;
  } else {
    addEntries([entry]);
  }
}

function setLive(live) {
  const badge = $("#live");
  badge.textContent = live ? "live" : "offline";
  badge.className = live ? "badge ok" : "badge warn";
}

let journalEpoch = null;

function connectStream() {
  if (stream) stream.close();
  clearTimeout(streamRetry);
  // Always from the last entry shown (0: none yet): an entry recorded between the first read
  // and this connection still comes. Ids only count up within one mock's journal.
  // Every entry, REST and hub alike: the view filters them (switching needs no new stream).
  const query = new URLSearchParams({ since: String(lastId), kind: "all" });
  if (adminToken) query.set("access_token", adminToken);
  const url = `${ROOT}/requests/stream?${query}`;
  const source = new EventSource(url);
  stream = source;
  source.addEventListener("open", () => { setLive(true); showError($("#journal-error"), null); });
  source.addEventListener("epoch", (event) => {
    if (source !== stream) return;
    const { epoch } = JSON.parse(event.data);
    const known = journalEpoch;
    journalEpoch = epoch;
    if (known === null || known === epoch) return;
    forgetJournal();
    if (known.split(".")[0] !== epoch.split(".")[0]) {
      // Another mock (restarted): its ids start again at 1, so read it from the start.
      lastId = 0;
      connectStream();
    }
  });
  source.addEventListener("message", (event) => {
    if (source !== stream) return;
    let entry;
    try { entry = JSON.parse(event.data); } catch { return; }  // not an entry: nothing to show
    receive(entry);
  });
  source.addEventListener("error", () => {
    if (source !== stream) return;
    setLive(false);
    // EventSource retries a broken stream by itself; a refused one (401, 403, 400) it gives up
    // on: say why, in the control plane's words, and try again later.
    if (source.readyState === EventSource.CLOSED) {
      explainRefusedStream(url);
      streamRetry = setTimeout(connectStream, 3000);
    }
  });
}

async function explainRefusedStream(url) {
  const stop = new AbortController();
  try {
    const response = await fetch(url, { signal: stop.signal, cache: "no-store" });
    if (!response.ok) {
      const text = await response.text();
      let body = text;
      try { body = JSON.parse(text); } catch { /* not a problem document */ }
      if (response.status === 401) askForToken();
      showError($("#journal-error"), new ControlError(response.status, body));
    }
  } catch { /* unreachable: the status line says so */ } finally {
    stop.abort();
  }
}

async function loadJournal() {
  try {
    addEntries(await call("GET", "/requests?kind=all&limit=200"));
    showError($("#journal-error"), null);
  } catch (error) {
    showError($("#journal-error"), error);
  }
}

for (const id of ["#filter-kind", "#filter-operation", "#filter-status", "#filter-flagged"]) {
  $(id).addEventListener("change", renderJournal);
}
$("#filter-user").addEventListener("input", renderJournal);
$("#pause").addEventListener("click", (event) => {
  paused = !paused;
  event.currentTarget.textContent = paused ? "Resume" : "Pause";
  event.currentTarget.setAttribute("aria-pressed", String(paused));
  if (!paused) {
    addEntries(heldBack);
    heldBack = [];
    $("#paused-count").textContent = "";
  }
});

// ---- sessions ------------------------------------------------------------------------------

async function loadSessions() {
  const target = $("#sessions");
  try {
    const [sessions, connections] = await Promise.all([call("GET", "/sessions"), call("GET", "/hubs/connections")]);
    showError($("#sessions-error"), null);
    rememberUsers(sessions);
    if (!sessions.length) {
      target.replaceChildren(el("p", {}, "No sessions."));
      return;
    }
    target.replaceChildren(...sessions.map((session) => {
      const users = new Map(session.users.map((user) => [user.id, user]));
      const theirs = connections.filter((c) => c.sessionId === session.sessionId);
      return el("article", { className: "card session" },
        el("h3", {}, "Session ", el("code", {}, session.sessionId), " ", copyButton(session.sessionId, "session id")),
        el("p", {}, `${session.messages} message${session.messages === 1 ? "" : "s"}`),
        el("div", { className: "scroll" }, el("table", {},
          el("thead", {}, el("tr", {}, ...["Name", "Role", "User id", "Token"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, ...session.users.map((user) => el("tr", {},
            el("td", {}, user.name), el("td", {}, user.role),
            el("td", {}, el("code", {}, user.id), " ", copyButton(user.id, `${user.name}'s id`)),
            el("td", {}, el("code", { className: "token", title: user.token },
              user.token.length > 16 ? `${user.token.slice(0, 16)}…` : user.token), " ",
              copyButton(user.token, `${user.name}'s token`))))))),
        el("h4", {}, `Hub connections (${theirs.length})`),
        theirs.length ? el("ul", {}, ...theirs.map((c) => el("li", {},
          `${c.hub} hub · ${(users.get(c.userId) || { name: c.userId }).name} · ${c.transport ?? "negotiated"} · since `
          + `${clock(c.connectedAt)} · `, el("code", {}, c.connectionId)))) : el("p", {}, "None."));
    }));
  } catch (error) {
    showError($("#sessions-error"), error);
  }
}

$("#sessions-refresh").addEventListener("click", loadSessions);

// ---- messages ------------------------------------------------------------------------------

let sessionUsers = new Map();  // user id -> user, to name the users of hub rows and reactions

function rememberUsers(sessions) {
  sessionUsers = new Map(sessions.flatMap((s) => s.users.map((u) => [u.id, u])));
}

async function loadMessageSessions() {
  const select = $("#messages-session");
  try {
    const sessions = await call("GET", "/sessions");
    const chosen = select.value;
    select.replaceChildren(...sessions.map((s) => el("option", { value: s.sessionId },
      `${s.sessionId.slice(0, 8)}… (${s.users.map((u) => u.name).join(", ")}; ${s.messages} messages)`)));
    if (sessions.some((s) => s.sessionId === chosen)) select.value = chosen;
    rememberUsers(sessions);
    showError($("#messages-error"), null);
    if (select.value) {
      await listMessages();
    } else {
      $("#messages").replaceChildren();
      $("#messages-total").textContent = "No sessions.";
    }
  } catch (error) {
    showError($("#messages-error"), error);
  }
}

async function act(promise, errorTarget, after, focusAfter) {
  // One control's call; its refusal shown where it was made. The list it changed is drawn
  // again, so focus goes to where the person was (focusAfter: a selector in the new list).
  try {
    await promise;
    showError(errorTarget, null);
    await after();
  } catch (error) {
    showError(errorTarget, error);
  }
  const target = focusAfter && document.querySelector(focusAfter);
  if (target) target.focus();
}

function reactionsText(reactions) {
  return reactions.map((r) => `${r.name} ${r.count} (${r.users.map((u) => (sessionUsers.get(u.id) || u).name || u.id)
    .join(", ")})`).join(" · ");
}

async function listMessages() {
  const session = $("#messages-session").value;
  const query = new URLSearchParams({
    SortBy: $("#messages-sort").value,
    Ascending: String($("#messages-ascending").checked),
    Skip: $("#messages-skip").value || "0",
    Take: $("#messages-take").value || "20",
  });
  const errors = $("#messages-error");
  try {
    const page = await call("GET", `/sessions/${encodeURIComponent(session)}/messages?${query}`);
    showError(errors, null);
    $("#messages-total").textContent = `${page.messages.length} shown of ${page.totalCount}`;
    const base = `/sessions/${encodeURIComponent(session)}`;
    const mine = (m) => `#messages li[data-chat-id="${CSS.escape(m.chatId)}"] .toggle-pin`;
    $("#messages").replaceChildren(...page.messages.map((m, index) => {
      const which = `message ${page.messages.length > 1 ? `${index + 1} ` : ""}by ${m.user.name}`;
      return el("li", { className: "card message", "data-chat-id": m.chatId },
        el("p", { className: "meta" }, `${m.user.name} · ${m.createdAt}`,
          m.pinned ? el("span", { className: "badge pin" }, "📌 pinned") : null),
        el("p", { className: "text", dir: "auto" }, m.message),
        m.reactions.length ? el("p", { className: "reactions" }, reactionsText(m.reactions)) : null,
        el("div", { className: "actions" },
          m.pinned
            ? el("button", { type: "button", className: "toggle-pin", "aria-label": `Unpin ${which}`,
              onclick: () => act(call("DELETE", `${base}/pins/${encodeURIComponent(m.pinned.id)}`), errors,
                listMessages, mine(m)) }, "Unpin")
            : el("button", { type: "button", className: "toggle-pin", "aria-label": `Pin ${which}`,
              onclick: () => act(call("POST", `${base}/pins`, { chatId: m.chatId }), errors, listMessages, mine(m)) },
            "Pin"),
          el("button", { type: "button", className: "danger", "aria-label": `Delete ${which}`, onclick: () => act(
            call("DELETE", `${base}/messages/${encodeURIComponent(m.chatId)}`), errors, listMessages,
            "#messages .toggle-pin, #messages-form button") }, "Delete"),
          copyButton(m.chatId, `the chat id of ${which}`)));
    }));
  } catch (error) {
    showError(errors, error);
  }
}

$("#messages-form").addEventListener("submit", (event) => { event.preventDefault(); listMessages(); });
$("#messages-session").addEventListener("change", listMessages);

// ---- controls ------------------------------------------------------------------------------

function formOutcome(form, error, done) {
  showError($(".error", form), error);
  $(".done", form).textContent = error ? "" : done || "";
}

function numberOrNothing(input) {
  return input.value === "" ? undefined : Number(input.value);
}

async function loadControls() {
  try {
    const scenarios = await call("GET", "/scenarios");
    const select = $("#scenario-name");
    const chosen = select.value;
    select.replaceChildren(...scenarios.map((s) => el("option", { value: s.name, title: s.description }, s.name)));
    if (chosen) select.value = chosen;
  } catch (error) {
    formOutcome($("#scenario-form"), error);
  }
  await Promise.all([loadFaults(), loadClock()]);
}

function afterWorldChange() {
  refreshStatus();
  if (currentView === "sessions") loadSessions();
}

$("#scenario-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const seed = numberOrNothing($("#scenario-seed"));
  try {
    const status = await call("POST", `/scenarios/${encodeURIComponent($("#scenario-name").value)}`,
      seed === undefined ? undefined : { seed });
    formOutcome(form, null, `Loaded ${status.scenario}: ${status.sessions} sessions, ${status.messages} messages.`);
    afterWorldChange();
  } catch (error) {
    formOutcome(form, error);
  }
});

$("#reset-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const seed = numberOrNothing($("#reset-seed"));
  try {
    const status = await call("POST", "/reset", seed === undefined ? {} : { seed });
    formOutcome(form, null, `Reset (seed ${status.seed}): ${status.sessions} sessions, ${status.messages} messages.`);
    forgetJournal();  // the stream's epoch event says so too; no need to wait for it
    afterWorldChange();
    loadFaults();
    loadClock();
  } catch (error) {
    formOutcome(form, error);
  }
});

$("#fault-operation").addEventListener("change", () => {
  const known = operations.get($("#fault-operation").value);
  $("#fault-method").placeholder = known ? known.method : "e.g. DELETE";
  $("#fault-path").placeholder = known ? known.path : "e.g. /v1/chats/{chatId}";
});

$("#fault-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const fault = {};
  const text = (id) => $(id).value.trim();
  if (text("#fault-operation")) fault.operationId = text("#fault-operation");
  if (text("#fault-method")) fault.method = text("#fault-method");
  if (text("#fault-path")) fault.path = text("#fault-path");
  for (const [name, id] of [["status", "#fault-status"], ["delayMs", "#fault-delay"], ["times", "#fault-times"],
    ["probability", "#fault-probability"]]) {
    const value = numberOrNothing($(id));
    if (value !== undefined) fault[name] = value;
  }
  if ($("#fault-drop").checked) fault.drop = true;
  fault.when = $("#fault-when").value;
  try {
    const armed = await call("POST", "/faults", fault);
    formOutcome(form, null, `Armed ${armed.id}.`);
    loadFaults();
  } catch (error) {
    formOutcome(form, error);
  }
});

function describeFault(f) {
  const what = f.operationId || `${f.method || "any method"} ${f.path || "any path"}`;
  const effect = [f.status !== null ? `answers ${f.status}` : null, f.delayMs ? `waits ${f.delayMs} ms` : null,
    f.drop ? "drops the connection" : null].filter(Boolean).join(", ");
  const limits = [f.when === "after" ? "after the change" : null, f.times !== null ? `${f.times} time(s)` : null,
    f.probability !== null ? `probability ${f.probability}` : null].filter(Boolean).join(", ");
  return `${f.id}: ${what} ${effect}${limits ? ` (${limits})` : ""}; fired ${f.fired}`;
}

async function loadFaults() {
  const list = $("#faults");
  try {
    const faults = await call("GET", "/faults");
    list.replaceChildren(...(faults.length ? faults.map((f) => el("li", {}, describeFault(f), " ",
      el("button", { type: "button", "aria-label": `Remove ${f.id}`, onclick: () => act(
        call("DELETE", `/faults/${encodeURIComponent(f.id)}`), $("#faults-error"), loadFaults,
        "#faults button, #faults-clear") }, "Remove")))
      : [el("li", {}, "None.")]));
    showError($("#faults-error"), null);
  } catch (error) {
    showError($("#faults-error"), error);
  }
}

$("#faults-clear").addEventListener("click", () => act(call("DELETE", "/faults"), $("#faults-error"), loadFaults));

function clockControl(formId, body) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const card = $("#clock");
    try {
      const now = await call("POST", "/clock", body());
      showClock(now);
      formOutcome(card, null, now.frozen ? `Frozen at ${now.now}.` : "Back to real time.");
    } catch (error) {
      formOutcome(card, error);
    }
  });
}

clockControl("#clock-freeze-form", () => ({ freeze: $("#clock-freeze").value.trim() || "now" }));
clockControl("#clock-advance-form", () => ({ advanceSeconds: numberOrNothing($("#clock-advance")) }));
clockControl("#clock-real-form", () => ({ real: true }));

function showClock(now) {
  $("#clock-now").textContent = now.now;
  $("#clock-frozen").textContent = now.frozen ? "(frozen)" : "(real time)";
}

async function loadClock() {
  try {
    showClock(await call("GET", "/clock"));
  } catch (error) {
    formOutcome($("#clock"), error);
  }
}


// ---- start ---------------------------------------------------------------------------------

let statusTimer = null;

async function start() {
  clearInterval(statusTimer);
  if (tokenRequired && !adminToken) {
    $("#status").textContent = "Waiting for the admin token.";
    askForToken();
    return;
  }
  if (!await refreshStatus()) return;  // the token form calls start() again
  statusTimer = setInterval(refreshStatus, STATUS_EVERY_MS);
  try { rememberUsers(await call("GET", "/sessions")); } catch { /* names fall back to ids */ }
  await loadJournal();
  connectStream();
  if (currentView !== "journal") showView(currentView);
}

loadOperations();
start();
