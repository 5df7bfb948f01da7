// The page's state: one EventSource on /api/stream (a `state` event with everything, then
// `delta`, `event` and `status` events), the side panels rebuilt only when their part of
// the state changed, and the anomaly actions. No polling: the server pushes every change.
"use strict";

const SEVERITY_RANK = { critical: 0, alarm: 1, warning: 2, info: 3 };
const LISTED = 100;  // rows a side list shows at most (the rest is counted)

const $ = (id) => document.getElementById(id);
const state = { connected: false, error: null, seq: null, robots: {}, missions: {},
  anomalies: {}, lockouts: [], closures: [], blocks: [], schedules: [], events: {} };
const dirty = new Set();
const map = new SiteMap($("map"));
let selectedAnomaly = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

function plural(n, noun) { return `${n} ${noun}${n === 1 ? "" : "s"}`; }

function fmtTime(iso) { return iso ? String(iso).replace("T", " ").slice(0, 19) : "-"; }

// -- the stream ----------------------------------------------------------------------
function showLeader(m) {
  // a site with standby managers: which one leads, and in which epoch
  if (m && m.name) $("leader").textContent = `led by ${m.name} (epoch ${m.epoch})`;
}

function applyState(s) {
  Object.assign(state, s);
  showLeader(s.manager);
  map.clear();
  const now = performance.now();
  for (const r of Object.values(state.robots)) map.update(r, now);
  for (const part of ["robots", "missions", "anomalies", "lists", "status"]) dirty.add(part);
}

function applyDelta(m) {
  const now = performance.now();
  state.seq = m.seq;
  showLeader(m.manager);
  for (const r of m.robots || []) { state.robots[r.serial] = r; map.update(r, now); }
  // a robot on a site the page has no map of: the maps are asked again (once per name)
  const unmapped = (m.robots || []).filter((r) => r.site && !sitesAskedFor.has(r.site)
    && !map.sites.some((s) => s.name === r.site));
  if (unmapped.length) {
    for (const r of unmapped) sitesAskedFor.add(r.site);
    sitesLoaded = false; loadSites();
  }
  for (const s of m.gone || []) { delete state.robots[s]; delete state.events[s]; map.remove(s); }
  if ((m.robots || []).length || (m.gone || []).length) dirty.add("robots");
  for (const x of m.missions || []) state.missions[x.mission_id] = x;
  if ((m.missions || []).length) dirty.add("missions");
  for (const a of m.anomalies || []) state.anomalies[a.id] = a;
  for (const id of m.anomalies_closed || []) delete state.anomalies[id];
  if ((m.anomalies || []).length || (m.anomalies_closed || []).length) dirty.add("anomalies");
  for (const k of ["lockouts", "closures", "blocks", "schedules"]) {
    if (Array.isArray(m[k])) { state[k] = m[k]; dirty.add("lists"); }
  }
}

function connect() {
  const source = new EventSource("/api/stream");
  source.addEventListener("state", (e) => applyState(JSON.parse(e.data)));
  source.addEventListener("delta", (e) => applyDelta(JSON.parse(e.data)));
  source.addEventListener("event", (e) => {
    const ev = JSON.parse(e.data);
    if (ev.robot == null) return;
    const kept = (state.events[ev.robot] = state.events[ev.robot] || []);
    kept.push(ev);
    if (kept.length > 20) kept.shift();
    if (map.selected === ev.robot) dirty.add("robots");
  });
  source.addEventListener("status", (e) => {
    Object.assign(state, JSON.parse(e.data)); dirty.add("status");
  });
  source.onerror = () => {
    state.connected = false; state.error = "dashboard server not reachable"; dirty.add("status");
  };
}

// -- panels --------------------------------------------------------------------------
function renderStatus() {
  const s = $("status");
  s.textContent = state.connected ? "live" : (state.error || "not connected");
  s.className = "status " + (state.connected ? "up" : "down");
}

function renderSummary() {
  const robots = Object.values(state.robots);
  const counts = {};
  for (const r of robots) counts[r.activity] = (counts[r.activity] || 0) + 1;
  const s = $("summary");
  s.dataset.robots = robots.length; s.dataset.seq = state.seq ?? "";
  s.textContent = `${robots.length} robots · ` + Object.entries(counts)
    .map(([a, n]) => `${n} ${a.replace("_", " ")}`).join(", ");
}

function renderRobotPanel() {
  const serial = map.selected, r = serial && state.robots[serial];
  $("robot-panel").hidden = !r;
  if (!r) return;
  $("robot-title").textContent = `${r.manufacturer}/${r.serial}`;
  const facts = [["activity", r.activity], ["status", r.status],
    ["battery", r.battery == null ? "-" : `${r.battery.toFixed(0)} %${r.charging ? " (charging)" : ""}`],
    ["mission", r.mission_id ? (state.missions[r.mission_id]?.name || r.mission_id) : "-"],
    ["node", r.node || "-"], ["level", r.level || "-"], ["waits for", r.waiting || "-"]];
  $("robot-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const evs = (state.events[serial] || []).slice().reverse();
  $("robot-events").replaceChildren(...evs.map((e) =>
    el("li", {}, `${fmtTime(e.at).slice(11)} ${e.kind}`)));
}

// The manager's anomaly records (fleet.anomaly.export): where, what and when.
const pointOf = (a) => a.inspection_point_id || a.point || a.node || "";
const raisedAt = (a) => String(a.first_seen || a.raised_at || "");

// Worst first, then newest first.
function sortedAnomalies() {
  return Object.values(state.anomalies).sort((a, b) =>
    (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9)
    || raisedAt(b).localeCompare(raisedAt(a)) || b.id - a.id);
}

function renderAnomalies() {
  const list = sortedAnomalies();
  map.setOverlay("anomalies", list);
  $("anomaly-count").textContent = `(${list.length})`;
  $("anomalies").replaceChildren(...list.slice(0, LISTED).map((a) => {
    const where = pointOf(a), peak = a.peak ?? a.value;
    const value = typeof peak === "number" ? `${peak.toPrecision(4)} ${a.unit || ""}` : "";
    const li = el("li", { "data-anomaly": a.id, class: a.id === selectedAnomaly ? "selected" : "" },
      el("span", { class: `sev ${a.severity}` }, a.severity), ` #${a.id} ${a.status} `,
      `${where} ${a.sensor || ""} ${value} ${a.rule || ""} · ${fmtTime(a.last_seen || raisedAt(a))}`);
    li.addEventListener("click", () => selectAnomaly(a.id));
    return li;
  }));
  if (selectedAnomaly != null && !state.anomalies[selectedAnomaly]) selectAnomaly(null);
}

function selectAnomaly(id) {
  selectedAnomaly = id;
  const a = id == null ? null : state.anomalies[id];
  $("anomaly-selected").textContent = a ? `#${a.id} ${a.severity} ${a.sensor || ""} at ${pointOf(a) || "?"} (${a.status})`
    : "Select an anomaly to act on it.";
  $("ack").disabled = !a || a.status !== "open";
  $("resolve").disabled = !a;
  for (const li of $("anomalies").children) {
    li.classList.toggle("selected", String(li.dataset.anomaly) === String(id));
  }
  // a reading's anomaly shows its point's trend (lockouts and closures have no sensor there)
  if (a && pointOf(a) && a.sensor && !a.sensor.includes(":")) {
    $("trend-point").value = pointOf(a); $("trend-sensor").value = a.sensor;
    loadTrend();
  }
}

async function act(verb) {
  const out = $("action-result"), note = $("note").value.trim();
  if (selectedAnomaly == null) return;
  if (!note) { out.textContent = "a note is required"; out.className = "error"; return; }
  const res = await fetch(`/api/anomalies/${selectedAnomaly}/${verb}`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ note }) });
  const text = await res.text();
  if (res.ok) {
    const a = JSON.parse(text);
    out.textContent = `#${a.id} ${a.status}`; out.className = "";
    $("note").value = "";
    state.anomalies[a.id] && Object.assign(state.anomalies[a.id], a);
    if (a.status === "resolved") delete state.anomalies[a.id];
    dirty.add("anomalies"); selectAnomaly(state.anomalies[a.id] ? a.id : null);
  } else {
    out.textContent = text; out.className = "error";
  }
}

function renderMissions() {
  const list = Object.values(state.missions).sort((a, b) => String(a.status).localeCompare(String(b.status)));
  $("missions").replaceChildren(...list.slice(0, LISTED).map((m) => {
    const pct = m.total ? Math.round((100 * m.done) / m.total) : 0;
    const bar = el("div", { class: "bar" }, el("span")); bar.firstChild.style.width = `${pct}%`;
    return el("li", { "data-mission": m.mission_id },
      `${m.name} · ${m.status} · ${m.done}/${m.total} · ${plural((m.robots || []).length, "robot")}`, bar);
  }));
}

function renderLists() {
  map.setOverlay("lockouts", state.lockouts);
  map.setOverlay("closures", state.closures);
  map.setOverlay("blocks", state.blocks);
  $("hazards").replaceChildren(
    ...state.lockouts.map((l) => el("li", {}, `LOCKOUT ${l.robot} at ${l.node} · ${l.reading ?? ""} · ${fmtTime(l.at)}`)),
    ...state.closures.map((c) => el("li", {}, `CLOSED C-${c.id} ${c.site} ${c.node} (${(c.nodes || []).length} nodes) · ${c.reason || ""} · ${fmtTime(c.opened_at)}`)));
  $("blocks").replaceChildren(...state.blocks.slice(0, LISTED).map((b) =>
    el("li", {}, `${b.site} ${b.block} held by ${b.holder} (${(b.nodes || []).join(", ")})`)));
  const runs = state.schedules.slice().sort((a, b) => String(a.next_run).localeCompare(String(b.next_run)));
  $("schedules").replaceChildren(...runs.slice(0, 20).map((s) =>
    el("li", {}, `${fmtTime(s.next_run)} · ${s.name} · ${s.mission || ""}`)));
}

// -- trend ---------------------------------------------------------------------------
async function loadTrend(event) {
  if (event) event.preventDefault();
  const q = new URLSearchParams({ point: $("trend-point").value.trim(),
    sensor: $("trend-sensor").value.trim(), window: $("trend-window").value });
  const res = await fetch(`/api/trend?${q}`);
  const text = await res.text();
  if (!res.ok) { $("trend-note").textContent = text; drawTrend(null); return; }
  drawTrend(JSON.parse(text));
}

function drawTrend(t) {
  const c = $("trend"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (!t) return;
  const pts = (t.readings || []).map(([at, v]) => [Date.parse(at), v]).filter(([x, v]) => !isNaN(x) && v != null);
  const limits = Object.entries(t.limits || {}).filter(([, v]) => typeof v === "number");
  $("trend-note").textContent = `${t.point} ${t.sensor} (${t.unit || ""}): ${pts.length} readings`;
  if (!pts.length && !limits.length) return;
  const ys = pts.map((p) => p[1]).concat(limits.map((l) => l[1]));
  const x0 = Math.min(...pts.map((p) => p[0]), Date.now()), x1 = Math.max(...pts.map((p) => p[0]), x0 + 1);
  const y0 = Math.min(0, ...ys), y1 = Math.max(...ys) * 1.1 || 1;
  const L = 36, R = 8, T = 8, B = 18, W = c.width - L - R, H = c.height - T - B;
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * W, sy = (y) => T + H - ((y - y0) / (y1 - y0 || 1)) * H;
  ctx.strokeStyle = "#b0bec5"; ctx.strokeRect(L, T, W, H);
  ctx.fillStyle = "#546e7a"; ctx.font = "10px system-ui";
  ctx.fillText(y1.toPrecision(3), 2, T + 8); ctx.fillText(y0.toPrecision(3), 2, T + H);
  ctx.setLineDash([4, 3]);
  for (const [name, v] of limits) {
    ctx.strokeStyle = "#c62828"; ctx.beginPath(); ctx.moveTo(L, sy(v)); ctx.lineTo(L + W, sy(v)); ctx.stroke();
    ctx.fillStyle = "#c62828"; ctx.fillText(`${name} ${v}`, L + 4, sy(v) - 2);
  }
  ctx.setLineDash([]); ctx.strokeStyle = "#1565c0"; ctx.lineWidth = 1.5; ctx.beginPath();
  pts.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
  ctx.stroke();
  if (pts.length <= 200) {  // few readings: each one marked (one alone makes no line)
    ctx.fillStyle = "#1565c0"; ctx.beginPath();
    for (const [x, y] of pts) { ctx.moveTo(sx(x) + 2.5, sy(y)); ctx.arc(sx(x), sy(y), 2.5, 0, 7); }
    ctx.fill();
  }
}

// -- frames --------------------------------------------------------------------------
function frame(now) {
  if (dirty.has("status")) { renderStatus(); loadSites(); }
  if (dirty.has("robots")) { renderSummary(); renderRobotPanel(); }
  if (dirty.has("missions")) renderMissions();
  if (dirty.has("anomalies")) renderAnomalies();
  if (dirty.has("lists")) renderLists();
  dirty.clear();
  map.draw(now);
  requestAnimationFrame(frame);
}

async function start() {
  $("legend").replaceChildren(...Object.entries(ACTIVITY_COLOURS).map(([a, c]) => {
    const i = el("i"); i.style.background = c; return el("span", {}, i, a.replace("_", " "));
  }));
  $("map").addEventListener("click", (e) => {
    const r = $("map").getBoundingClientRect();
    map.selected = map.hit(e.clientX - r.left, e.clientY - r.top); dirty.add("robots");
  });
  $("robot-close").addEventListener("click", () => { map.selected = null; dirty.add("robots"); });
  $("level").addEventListener("change", (e) => map.setLevel(e.target.value));
  $("ack").addEventListener("click", () => act("ack"));
  $("resolve").addEventListener("click", () => act("resolve"));
  $("trend-form").addEventListener("submit", loadTrend);
  fetch("/api/whoami").then((r) => r.json()).then((w) => {
    $("whoami").textContent = w.supervisor ? `acting as ${w.supervisor}` : "";
  }).catch(() => {});
  connect();
  requestAnimationFrame(frame);
}

// The site maps, asked once the manager is connected (again after a failed try).
let sitesLoaded = false, sitesAsked = false;
const sitesAskedFor = new Set();
async function loadSites() {
  if (sitesLoaded || sitesAsked || !state.connected) return;
  sitesAsked = true;
  const res = await fetch("/api/sites").catch(() => null);
  sitesAsked = false;
  if (!res || !res.ok) return;
  const sites = await res.json();
  if (!sites.length) return;  // no site known yet: asked again when a robot names one
  const level = map.level && map.level.key;
  map.setSites(sites);
  if (level) map.setLevel(level);
  sitesLoaded = true;
  $("level").replaceChildren(...map.levels.map((l) => el("option", { value: l.key }, l.name)));
  if (map.level) $("level").value = map.level.key;
}

// Read-only hook for tests and tools: where each marker is drawn now and what it shows.
window.dashboard = Object.freeze({
  markers: () => [...map.markers].map(([serial, m]) => {
    const [x, y] = markerPosition(m, performance.now());
    return { serial, x, y, activity: m.robot.activity, level: m.robot.level };
  }),
  // where a marker is drawn on the map, in CSS pixels from the canvas's top left corner
  screen: (serial) => {
    const m = map.markers.get(serial), dpr = window.devicePixelRatio || 1;
    return m && m.sx != null ? [m.sx / dpr, m.sy / dpr] : null;
  },
  connected: () => state.connected,
  error: () => state.error,
  anomalies: () => sortedAnomalies().map((a) => ({ id: a.id, status: a.status, severity: a.severity })),
  levels: () => map.levels.map((l) => l.key),
});

start();
