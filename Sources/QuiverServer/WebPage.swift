/// The search page served at `GET /`: one HTML document with its CSS and script inline, so it
/// works offline and from any host name. It calls `GET /api/collections`, `POST /api/search`,
/// `POST /api/search/file` and shows files through `GET /api/media`.
///
/// When the server has an API key, the key typed into the page's "API key" field is kept in
/// `localStorage`, sent as `Authorization: Bearer KEY`, and set as the `quiver_key` cookie
/// (path `/api/`, SameSite=Strict) so that thumbnails and players can load media.
enum WebPage {
    static let html: String = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Quiver search</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1d2330; --muted: #667085; --line: #e3e6ec;
  --accent: #3b5bdb; --accent-soft: #e8edff; --warn-bg: #fff8e6; --warn-line: #f1d48a;
  --err-bg: #fff0f0; --err-line: #f3b4b4; --err-text: #a32020; --mark: #fff3a3;
  --text-badge: #2f6f4f; --image-badge: #3b5bdb; --audio-badge: #a3561b; --video-badge: #8a2f86; --on-accent: #fff;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14161b; --panel: #1d2027; --text: #e6e8ee; --muted: #9aa3b5; --line: #30343e;
    --accent: #7c96ff; --accent-soft: #263056; --warn-bg: #2e2814; --warn-line: #6b5a22;
    --err-bg: #341a1a; --err-line: #7a3434; --err-text: #ffb4b4; --mark: #6b5c10;
    --text-badge: #6fd0a0; --image-badge: #9db0ff; --audio-badge: #f0a56a; --video-badge: #e19ade; --on-accent: #0d1020;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.top { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap;
  padding: 14px 28px; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 19px; letter-spacing: .2px; }
.brand span { color: var(--accent); }
#store { color: var(--muted); font-size: 13px; flex: 1; min-width: 240px; }
#store b { color: var(--text); font-weight: 600; }
#store .coll { white-space: nowrap; margin-right: 14px; }
#store .store-path { font-size: 12px; display: inline-block; max-width: 300px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: bottom; direction: rtl; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 48px; }
form.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px; }
.row { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.row + .row { margin-top: 12px; }
#q { flex: 1; min-width: 220px; font: inherit; font-size: 16px; padding: 10px 14px; border: 1px solid var(--line);
  border-radius: 8px; background: var(--bg); color: var(--text); }
#q:focus, .field:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
button, .upload { font: inherit; border-radius: 8px; cursor: pointer; }
button#go { padding: 10px 20px; border: 0; background: var(--accent); color: var(--on-accent); font-weight: 600; }
button#go:disabled { opacity: .6; cursor: progress; }
.upload { padding: 6px 12px; border: 1px dashed var(--muted); color: var(--text); background: transparent; }
.upload:hover { border-color: var(--accent); color: var(--accent); }
#file { position: absolute; width: 1px; height: 1px; opacity: 0; }
.mods { display: flex; gap: 12px; border: 0; padding: 0; margin: 0 0 0 auto; }
.mods label, .opt { color: var(--muted); font-size: 14px; display: flex; align-items: center; gap: 5px; }
.field { font: inherit; font-size: 14px; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--text); }
#limit { width: 64px; }
details { margin-top: 10px; font-size: 14px; color: var(--muted); }
details summary { cursor: pointer; width: max-content; }
details .row { margin-top: 8px; }
#filter { flex: 1; min-width: 260px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.hint { font-size: 12px; color: var(--muted); }
#query-file { display: none; align-items: center; gap: 8px; font-size: 14px; padding: 3px 6px 3px 3px;
  border: 1px solid var(--line); border-radius: 8px; background: var(--bg); }
#query-file.on { display: inline-flex; }
#query-file img { width: 32px; height: 32px; object-fit: cover; border-radius: 5px; }
#query-file button { border: 0; background: none; color: var(--muted); font-size: 16px; padding: 0 4px; }
#status { margin: 16px 2px 8px; color: var(--muted); font-size: 14px; min-height: 20px; }
.note, .error { border-radius: 8px; padding: 9px 14px; margin: 8px 0; font-size: 14px; }
.note { background: var(--warn-bg); border: 1px solid var(--warn-line); }
.error { background: var(--err-bg); border: 1px solid var(--err-line); color: var(--err-text); }
.note code, .error code { font-size: 13px; }
#results { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 16px; margin-top: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 12px; overflow: hidden;
  display: flex; flex-direction: column; min-width: 0; }
.card .media { background: #0d0f14; display: flex; align-items: center; justify-content: center; height: 190px; }
.card .media img, .card .media video { width: 100%; height: 100%; object-fit: contain; display: block; }
.card .media.audio { height: auto; padding: 18px 12px; background: var(--accent-soft); }
.card .media.audio audio { width: 100%; }
.card .body { padding: 11px 14px 13px; display: flex; flex-direction: column; gap: 5px; min-width: 0; }
.meta { display: flex; align-items: center; gap: 8px; font-size: 13px; }
.rank { color: var(--muted); font-variant-numeric: tabular-nums; }
.badge { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .5px;
  padding: 1px 7px; border-radius: 10px; border: 1px solid currentColor; }
.badge.text { color: var(--text-badge); } .badge.image { color: var(--image-badge); }
.badge.audio { color: var(--audio-badge); } .badge.video { color: var(--video-badge); }
.score { margin-left: auto; font-weight: 600; font-variant-numeric: tabular-nums; }
.bar { height: 3px; background: var(--line); border-radius: 2px; overflow: hidden; }
.bar i { display: block; height: 100%; background: var(--accent); }
.name { margin: 2px 0 0; font-size: 15px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.name a { color: inherit; text-decoration: none; } .name a:hover { text-decoration: underline; }
.path { font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; direction: rtl; text-align: left; }
.where { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.snippet { margin: 4px 0 0; font-size: 14px; white-space: pre-wrap; overflow-wrap: anywhere; cursor: pointer;
  display: -webkit-box; -webkit-line-clamp: 7; -webkit-box-orient: vertical; overflow: hidden;
  border-left: 3px solid var(--line); padding-left: 9px; }
.snippet.open { -webkit-line-clamp: unset; display: block; }
.similar { align-self: flex-start; margin-top: 4px; font-size: 12px; padding: 3px 10px; border: 1px solid var(--line);
  background: transparent; color: var(--accent); }
.similar:hover { border-color: var(--accent); }
mark { background: var(--mark); color: inherit; border-radius: 2px; }
.empty { color: var(--muted); grid-column: 1 / -1; padding: 30px; text-align: center; }
body.dragging main::after { content: "Drop a file to search with it"; position: fixed; inset: 12px; border: 3px dashed var(--accent);
  border-radius: 16px; background: rgba(59, 91, 219, .08); display: flex; align-items: center; justify-content: center;
  font-size: 22px; color: var(--accent); pointer-events: none; }
.spin { display: inline-block; width: 12px; height: 12px; border: 2px solid var(--line); border-top-color: var(--accent);
  border-radius: 50%; animation: spin .8s linear infinite; vertical-align: -1px; margin-right: 6px; }
@keyframes spin { to { transform: rotate(360deg); } }
</style>
</head>
<body>
<header class="top">
  <div class="brand"><span>&#9670;</span> Quiver</div>
  <div id="store">Loading the store&hellip;</div>
</header>
<main>
  <form id="search-form" class="panel" autocomplete="off">
    <div class="row">
      <input id="q" type="search" placeholder="Search your files by meaning, e.g. &ldquo;a cat on a sofa&rdquo;" aria-label="Query" autofocus>
      <button id="go" type="submit">Search</button>
    </div>
    <div class="row">
      <label class="upload" for="file" title="Search with the content of a file (or drop it on the page)">&#8679; Search with a file&hellip;</label>
      <input id="file" type="file" accept="image/*,audio/*,video/*,.txt,.md,text/plain">
      <span id="query-file"><img alt="" hidden><span class="qname"></span><button type="button" title="Clear">&times;</button></span>
      <fieldset class="mods" aria-label="Modalities">
        <label><input type="checkbox" name="modality" value="text" checked> text</label>
        <label><input type="checkbox" name="modality" value="image" checked> image</label>
        <label><input type="checkbox" name="modality" value="audio" checked> audio</label>
        <label><input type="checkbox" name="modality" value="video" checked> video</label>
      </fieldset>
      <label class="opt">limit <input id="limit" class="field" type="number" min="1" max="1000" value="10"></label>
      <label class="opt" title="Text queries: embeddings (dense), exact words (BM25), or both fused (hybrid, reciprocal rank fusion)">mode <select id="mode" class="field">
        <option value="auto" selected>auto</option><option value="hybrid">hybrid</option><option value="dense">dense</option><option value="bm25">BM25</option>
      </select></label>
      <label class="opt" id="collection-box" hidden>collection <select id="collection" class="field"></select></label>
    </div>
    <details id="more">
      <summary>Filter and API key</summary>
      <div class="row">
        <input id="filter" class="field" placeholder='filter, e.g. path like "%/notes/%" and chunk &lt; 3' aria-label="Filter">
      </div>
      <div class="row">
        <label class="opt">API key <input id="key" class="field" type="password" placeholder="only if the server has one" size="28"></label>
        <span class="hint">Kept in this browser (localStorage) and sent as <code>Authorization: Bearer</code>.</span>
      </div>
    </details>
  </form>
  <div id="status"></div>
  <div id="messages"></div>
  <section id="results" aria-live="polite"></section>
</main>
<script>
"use strict";
const $ = (s) => document.querySelector(s);
const state = { key: localStorage.getItem("quiverKey") || "", file: null, fileURL: null, busy: false };

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function setKey(k) {
  state.key = k.trim();
  if (state.key) {
    localStorage.setItem("quiverKey", state.key);
    document.cookie = "quiver_key=" + encodeURIComponent(state.key) + "; path=/api/; SameSite=Strict";
  } else {
    localStorage.removeItem("quiverKey");
    document.cookie = "quiver_key=; path=/api/; max-age=0; SameSite=Strict";
  }
}
function authHeaders(extra) {
  const h = Object.assign({}, extra || {});
  if (state.key) h["Authorization"] = "Bearer " + state.key;
  return h;
}
async function api(url, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = authHeaders(opts.headers);
  let r;
  try { r = await fetch(url, opts); } catch (e) { throw new Error("cannot reach the server (" + e.message + ")"); }
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) {
    const msg = (body && body.error && body.error.message) || (r.status + " " + r.statusText);
    const err = new Error(msg); err.status = r.status;
    if (r.status === 401) { $("#more").open = true; $("#key").focus(); }
    throw err;
  }
  return body;
}
function fmtTime(s) {
  if (s == null || !isFinite(s)) return "";
  const t = Math.max(0, Math.floor(s + 1e-6)), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const ss = String(sec).padStart(2, "0");
  return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
}
function plural(n, w) { return n + " " + w + (n === 1 ? "" : "s"); }
function codeify(text) { return esc(text).replace(/`([^`]+)`/g, "<code>$1</code>"); }

async function loadStore() {
  try {
    const info = await api("/api/collections");
    const parts = info.collections.map((c) =>
      '<span class="coll"><b>' + esc(c.name) + "</b> " + plural(c.count, "row") +
      (c.model ? " &middot; " + esc(c.model) + (c.dimension ? " (" + c.dimension + "-d)" : "") : "") + "</span>");
    $("#store").innerHTML = parts.length ? parts.join("") + '<span class="store-path" title="The store">&lrm;' + esc(info.store) + "&lrm;</span>"
      : "The store at " + esc(info.store) + " is empty: run <code>quiver ingest FOLDER</code> first.";
    $("#store").title = info.store;
    const sel = $("#collection");
    sel.innerHTML = info.bases.map((b) => "<option" + (b === info.default_base ? " selected" : "") + ">" + esc(b) + "</option>").join("");
    $("#collection-box").hidden = info.bases.length < 2;
  } catch (e) {
    $("#store").textContent = "Store unavailable: " + e.message;
  }
}

function options() {
  const boxes = [...document.querySelectorAll('input[name="modality"]')];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  const limit = Math.max(1, Math.min(1000, parseInt($("#limit").value, 10) || 10));
  const o = { limit };
  if (chosen.length !== boxes.length) o.modality = chosen;
  const filter = $("#filter").value.trim();
  if (filter) o.filter = filter;
  if (!$("#collection-box").hidden && $("#collection").value) o.collection = $("#collection").value;
  return o;
}

function showMessages(notes, error) {
  const box = $("#messages");
  box.innerHTML = (error ? '<div class="error" role="alert">' + codeify(error) + "</div>" : "") +
    (notes || []).map((n) => '<div class="note">' + codeify(n) + "</div>").join("");
}

function busy(on, label) {
  state.busy = on;
  $("#go").disabled = on;
  if (on) $("#status").innerHTML = '<span class="spin"></span>' + esc(label);
}

async function searchText() {
  const text = $("#q").value.trim();
  if (!text) { $("#q").focus(); return; }
  clearFile();
  const body = Object.assign({ text }, options());
  if ($("#mode").value !== "auto") body.mode = $("#mode").value;
  busy(true, "Searching\u2026");
  try {
    const out = await api("/api/search", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    render(out, "\u201c" + text + "\u201d", text);
    history.replaceState(null, "", "?q=" + encodeURIComponent(text));
  } catch (e) { fail(e); } finally { busy(false); }
}

async function searchFile(file) {
  if (!file) return;
  setFile(file);
  const o = options();
  const params = new URLSearchParams({ limit: o.limit, name: file.name });
  if (o.modality) params.set("modality", o.modality.join(","));
  if (o.filter) params.set("filter", o.filter);
  if (o.collection) params.set("collection", o.collection);
  busy(true, "Embedding " + file.name + " and searching\u2026");
  try {
    const out = await api("/api/search/file?" + params, {
      method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
    render(out, file.name, "");
    history.replaceState(null, "", location.pathname);
  } catch (e) { fail(e); } finally { busy(false); }
}

function setFile(file) {
  if (state.fileURL) URL.revokeObjectURL(state.fileURL);
  state.file = file; state.fileURL = null;
  const chip = $("#query-file"), img = chip.querySelector("img");
  chip.querySelector(".qname").textContent = file.name;
  if (file.type.startsWith("image/")) { state.fileURL = URL.createObjectURL(file); img.src = state.fileURL; img.hidden = false; }
  else { img.hidden = true; img.removeAttribute("src"); }
  chip.classList.add("on");
}
function clearFile() {
  if (state.fileURL) URL.revokeObjectURL(state.fileURL);
  state.file = null; state.fileURL = null;
  $("#query-file").classList.remove("on");
  $("#file").value = "";
}

function fail(e) {
  $("#status").textContent = "";
  $("#results").innerHTML = "";
  showMessages([], e.message);
}

const STOP = new Set(("the and for with how what should that this from into are was were you your have has had can will " +
  "would could about over under than then them they their there when where which who why not but all any our out its").split(" "));
function highlight(text, query) {
  const terms = (query || "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 2 && !STOP.has(t));
  if (!terms.length) return esc(text);
  const re = new RegExp("(" + terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|") + ")", "giu");
  return String(text).split(re).map((p, i) => (i % 2 ? "<mark>" + esc(p) + "</mark>" : esc(p))).join("");
}

function card(r, i, query) {
  const m = r.modality || "text";
  const score = typeof r.score === "number" ? r.score : 0;
  const pct = Math.max(0, Math.min(100, score * 100));
  let media = "", detail = "";
  const range = (r.start_s != null && r.end_s != null) ? fmtTime(r.start_s) + "\u2013" + fmtTime(r.end_s) : "";
  if (m === "image") {
    media = '<a class="media" href="' + esc(r.media) + '" target="_blank" rel="noopener"><img loading="lazy" src="' +
      esc(r.media) + '" alt="' + esc(r.name) + '"></a>';
  } else if (m === "video") {
    const frag = r.start_s != null ? "#t=" + r.start_s + (r.end_s != null ? "," + r.end_s : "") : "";
    media = '<div class="media"><video controls preload="metadata" src="' + esc(r.media + frag) + '"></video></div>';
    detail = '<div class="where">' + (range ? esc(range) : "") +
      (r.frame_index != null ? " &middot; frame " + r.frame_index : r.segment === "clip" ? " &middot; clip " + r.chunk + " (frames and sound)" :
       (String(r.id).endsWith("#video") ? " &middot; whole video" : "")) + "</div>";
  } else if (m === "audio") {
    const frag = r.start_s != null && r.end_s != null ? "#t=" + r.start_s + "," + r.end_s : "";
    media = '<div class="media audio"><audio controls preload="metadata" src="' + esc(r.media + frag) + '"></audio></div>';
    detail = range ? '<div class="where">' + esc(range) + "</div>" : "";
  }
  if (m === "text" && r.text != null) {
    const where = (r.page != null ? "page " + r.page + " &middot; " : "") + (r.section ? esc(r.section) + " &middot; " : "") +
      "chunk " + (r.chunk != null ? r.chunk : 0) +
      (r.start != null && r.end != null ? " &middot; chars " + r.start + "\u2013" + r.end : "");
    detail = '<div class="where">' + where + '</div><p class="snippet" title="Click to expand">' + highlight(r.text, query) + "</p>";
  }
  return '<article class="card" data-modality="' + esc(m) + '" data-path="' + esc(r.path || "") + '" data-id="' + esc(r.id) + '">' +
    media + '<div class="body"><div class="meta"><span class="rank">#' + (i + 1) + '</span><span class="badge ' + esc(m) + '">' +
    esc(m) + '</span><span class="score" title="cosine similarity">' + score.toFixed(3) + '</span></div>' +
    '<div class="bar"><i style="width:' + pct.toFixed(1) + '%"></i></div>' +
    '<h3 class="name"><a href="' + esc(r.media) + '" target="_blank" rel="noopener" title="Open the file">' + esc(r.name || r.path) + "</a></h3>" +
    '<div class="path" title="' + esc(r.path || "") + '">&lrm;' + esc(r.path || "") + "&lrm;</div>" + detail +
    (m === "image" || m === "audio" ? '<button type="button" class="similar" data-media="' + esc(r.media) + '" data-name="' +
      esc(r.name || "file") + '" title="Search with this file">Find similar</button>' : "") + "</div></article>";
}

function render(out, label, query) {
  const n = out.results.length;
  $("#status").textContent = plural(n, "result") + " for " + label + " in " + Math.round(out.took_ms) + " ms" +
    (out.searched.length ? " \u00b7 searched " + out.searched.join(", ") : "");
  showMessages(out.notes, null);
  $("#results").innerHTML = n ? out.results.map((r, i) => card(r, i, query)).join("")
    : '<div class="empty">No results. Try other words, more modalities or no filter.</div>';
}

$("#search-form").addEventListener("submit", (e) => { e.preventDefault(); searchText(); });
$("#file").addEventListener("change", () => { const f = $("#file").files[0]; if (f) searchFile(f); });
$("#query-file button").addEventListener("click", () => clearFile());
$("#results").addEventListener("click", (e) => {
  const s = e.target.closest(".snippet");
  if (s) s.classList.toggle("open");
  const b = e.target.closest(".similar");
  if (b) similar(b.dataset.media, b.dataset.name);
});
// "Find similar": the hit's own file, fetched from the media route, becomes the query.
async function similar(media, name) {
  try {
    const r = await fetch(media, { headers: authHeaders() });
    if (!r.ok) throw new Error("cannot read " + name + " (" + r.status + ")");
    const blob = await r.blob();
    searchFile(new File([blob], name, { type: blob.type }));
  } catch (e) { fail(e); }
}
$("#key").value = state.key;
$("#key").addEventListener("change", () => { setKey($("#key").value); loadStore(); });
let depth = 0;
window.addEventListener("dragenter", (e) => { e.preventDefault(); depth++; document.body.classList.add("dragging"); });
window.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; document.body.classList.remove("dragging"); } });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault(); depth = 0; document.body.classList.remove("dragging");
  const f = e.dataTransfer && e.dataTransfer.files[0];
  if (f) searchFile(f);
});
if (state.key) setKey(state.key);
loadStore();
// A link may carry a query: /?q=words
const initial = new URLSearchParams(location.search).get("q");
if (initial) { $("#q").value = initial; searchText(); }
</script>
</body>
</html>
"""#
}
