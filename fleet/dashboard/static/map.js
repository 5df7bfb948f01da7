// The site map on a <canvas>: the level's nodes and edges (drawn once into an offscreen
// canvas, redrawn only when the level, the size, lockouts, closures or blocks change), then
// every robot of the level in one pass per colour: no DOM element per robot, so that a
// thousand robots stay smooth. Positions are interpolated between two updates.
"use strict";

const ACTIVITY_COLOURS = {
  working: "#2e7d32", waiting: "#f9a825", charging: "#1565c0", idle: "#9e9e9e",
  lost: "#d32f2f", locked_out: "#6a1b9a", offline: "#37474f",
};
const SEVERITY_COLOURS = { critical: "#7b1fa2", alarm: "#c62828", warning: "#ef6c00",
  info: "#546e7a" };
const DRAW_LAST = { waiting: 1, charging: 1, working: 2, locked_out: 3, lost: 4 };
const GLIDE_MS = 600;  // a little over the manager's 0.5 s period: markers never stop
const LABELS_UP_TO = 150;  // robots on a level beyond which labels would be noise

class SiteMap {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.background = document.createElement("canvas");
    this.sites = [];
    this.levels = [];    // [{key, site, level, name, nodes, edges, bounds}]
    this.level = null;
    this.markers = new Map();  // serial -> {x0, y0, x1, y1, t0, robot}
    this.overlay = { lockouts: [], closures: [], blocks: [], anomalies: [] };
    this.dirty = true;
    this.selected = null;
    window.addEventListener("resize", () => { this.dirty = true; });
  }

  setSites(sites) {
    this.sites = sites;
    this.levels = [];
    for (const site of sites) {
      const levels = site.levels && site.levels.length ? site.levels : [{ id: null, name: "" }];
      for (const lv of levels) {
        const nodes = site.nodes.filter((n) => levels.length === 1 || n.level === lv.id);
        const ids = new Map(nodes.map((n) => [n.id, n]));
        const edges = site.edges.filter((e) => ids.has(e.a) && ids.has(e.b));
        this.levels.push({ key: `${site.name}/${lv.id}`, site: site.name, level: lv.id,
          name: `${site.name} · ${lv.name || lv.id || "ground"}`, nodes, ids, edges,
          bounds: bounds(nodes) });
      }
    }
    this.level = this.levels[0] || null;
    this.dirty = true;
  }

  setLevel(key) {
    this.level = this.levels.find((l) => l.key === key) || this.level;
    this.dirty = true;
  }

  onLevel(robot) {
    const lv = this.level;
    if (!lv) return true;
    if (robot.site && robot.site !== lv.site) return false;
    return robot.level == null || lv.level == null || robot.level === lv.level
      || this.levels.filter((l) => l.site === lv.site).length === 1;
  }

  // A robot's new report: it glides from where it is drawn now to where it says it is.
  update(robot, now) {
    if (robot.x == null || robot.y == null) { this.markers.delete(robot.serial); return; }
    const m = this.markers.get(robot.serial);
    if (!m) {
      this.markers.set(robot.serial, { x0: robot.x, y0: robot.y, x1: robot.x, y1: robot.y,
        t0: now, robot });
      return;
    }
    const [x, y] = position(m, now);
    Object.assign(m, { x0: x, y0: y, x1: robot.x, y1: robot.y, t0: now, robot });
  }

  remove(serial) { this.markers.delete(serial); }

  clear() { this.markers.clear(); }

  setOverlay(name, list) { this.overlay[name] = list || []; this.dirty = true; }

  transform() {
    const lv = this.level;
    const w = this.canvas.width, h = this.canvas.height, pad = 30;
    const b = lv ? lv.bounds : { minX: 0, minY: 0, maxX: 1, maxY: 1 };
    const s = Math.min((w - 2 * pad) / Math.max(b.maxX - b.minX, 1e-6),
                       (h - 2 * pad) / Math.max(b.maxY - b.minY, 1e-6));
    const ox = (w - s * (b.maxX - b.minX)) / 2, oy = (h - s * (b.maxY - b.minY)) / 2;
    return { s, toScreen: (x, y) => [ox + (x - b.minX) * s, h - oy - (y - b.minY) * s] };
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w; this.canvas.height = h; this.dirty = true;
    }
  }

  drawBackground() {
    const bg = this.background, lv = this.level;
    bg.width = this.canvas.width; bg.height = this.canvas.height;
    const ctx = bg.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, bg.width, bg.height);
    if (!lv) return;
    const { toScreen } = this.transform();
    const held = new Set();
    for (const b of this.overlay.blocks) {
      if (b.site && b.site !== lv.site) continue;
      for (const n of b.nodes || []) held.add(n);
    }
    const closed = new Set();
    for (const c of this.overlay.closures) for (const n of c.nodes || []) closed.add(n);
    for (const e of lv.edges) {
      const a = lv.ids.get(e.a), b = lv.ids.get(e.b);
      const [ax, ay] = toScreen(a.x, a.y), [bx, by] = toScreen(b.x, b.y);
      ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by);
      if (closed.has(e.a) && closed.has(e.b)) {
        ctx.strokeStyle = "rgba(198,40,40,.55)"; ctx.lineWidth = 7;
      } else if (e.single_lane && held.has(e.a) && held.has(e.b)) {
        ctx.strokeStyle = "#ff9800"; ctx.lineWidth = 6;
      } else {
        ctx.strokeStyle = e.single_lane ? "#90a4ae" : "#cfd8dc";
        ctx.lineWidth = e.single_lane ? 2 : 3;
      }
      ctx.setLineDash(e.single_lane ? [6, 4] : []);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    for (const n of lv.nodes) {
      const [x, y] = toScreen(n.x, n.y);
      ctx.beginPath(); ctx.arc(x, y, n.kind === "dock" || n.kind === "charger" ? 5 : 3, 0, 7);
      ctx.fillStyle = closed.has(n.id) ? "#c62828"
        : n.kind === "dock" || n.kind === "charger" ? "#1565c0" : "#78909c";
      ctx.fill();
    }
    for (const a of this.overlay.anomalies) {  // open anomalies: a triangle where seen
      if (a.x == null || a.y == null || (a.level && lv.level && a.level !== lv.level)) continue;
      const [x, y] = toScreen(a.x, a.y);
      ctx.beginPath(); ctx.moveTo(x, y - 9); ctx.lineTo(x + 8, y + 6); ctx.lineTo(x - 8, y + 6);
      ctx.closePath(); ctx.fillStyle = SEVERITY_COLOURS[a.severity] || "#ef6c00"; ctx.fill();
    }
    ctx.strokeStyle = "#6a1b9a"; ctx.lineWidth = 3;
    for (const l of this.overlay.lockouts) {
      if (l.x == null || l.y == null || (l.level && lv.level && l.level !== lv.level)) continue;
      const [x, y] = toScreen(l.x, l.y);
      ctx.beginPath(); ctx.moveTo(x - 8, y - 8); ctx.lineTo(x + 8, y + 8);
      ctx.moveTo(x + 8, y - 8); ctx.lineTo(x - 8, y + 8); ctx.stroke();
    }
  }

  // One frame: the background as an image, then the markers, one path per colour.
  draw(now) {
    this.resize();
    if (this.dirty) { this.drawBackground(); this.dirty = false; }
    const ctx = this.ctx;
    ctx.drawImage(this.background, 0, 0);
    const { toScreen } = this.transform();
    const dpr = window.devicePixelRatio || 1, r = 6 * dpr;
    const groups = {}, shown = [];
    for (const [serial, m] of this.markers) {
      if (!this.onLevel(m.robot)) continue;
      const [wx, wy] = position(m, now);
      const [x, y] = toScreen(wx, wy);
      m.sx = x; m.sy = y;
      (groups[m.robot.activity] = groups[m.robot.activity] || []).push(m);
      shown.push([serial, x, y]);
    }
    // the alarming ones last, on top of a crowd at a dock
    const order = Object.keys(groups).sort((a, b) => (DRAW_LAST[a] || 0) - (DRAW_LAST[b] || 0));
    for (const activity of order) {
      const list = groups[activity];
      ctx.beginPath();
      for (const m of list) { ctx.moveTo(m.sx + r, m.sy); ctx.arc(m.sx, m.sy, r, 0, 7); }
      ctx.fillStyle = ACTIVITY_COLOURS[activity] || "#000"; ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = "#fff"; ctx.stroke();
    }
    if (this.selected && this.markers.has(this.selected)) {
      const m = this.markers.get(this.selected);
      ctx.beginPath(); ctx.arc(m.sx, m.sy, r + 4, 0, 7);
      ctx.lineWidth = 2; ctx.strokeStyle = "#000"; ctx.stroke();
    }
    if (shown.length <= LABELS_UP_TO) {
      ctx.fillStyle = "#263238"; ctx.font = `${11 * dpr}px system-ui, sans-serif`;
      for (const [serial, x, y] of shown) ctx.fillText(serial, x + r + 2, y - r);
    }
  }

  // The robot a click (CSS pixels) lands on: among the markers under it, the one drawn on
  // top; else the nearest within a marker's reach.
  hit(cssX, cssY) {
    const dpr = window.devicePixelRatio || 1, x = cssX * dpr, y = cssY * dpr;
    const r2 = (6 * dpr) ** 2, reach2 = (10 * dpr) ** 2;
    let best = null, bestKey = null;
    for (const [serial, m] of this.markers) {
      if (m.sx == null || !this.onLevel(m.robot)) continue;
      const d = (m.sx - x) ** 2 + (m.sy - y) ** 2;
      if (d >= reach2) continue;
      const under = d <= r2;
      const key = [under ? 1 : 0, under ? DRAW_LAST[m.robot.activity] || 0 : 0, -d];
      if (!bestKey || key[0] > bestKey[0] || (key[0] === bestKey[0] && (key[1] > bestKey[1]
          || (key[1] === bestKey[1] && key[2] > bestKey[2])))) {
        best = serial; bestKey = key;
      }
    }
    return best;
  }
}

function position(m, now) {
  const t = Math.min(1, Math.max(0, (now - m.t0) / GLIDE_MS));
  return [m.x0 + (m.x1 - m.x0) * t, m.y0 + (m.y1 - m.y0) * t];
}

function bounds(nodes) {
  if (!nodes.length) return { minX: 0, minY: 0, maxX: 1, maxY: 1 };
  const xs = nodes.map((n) => n.x), ys = nodes.map((n) => n.y);
  return { minX: Math.min(...xs), maxX: Math.max(...xs), minY: Math.min(...ys),
           maxY: Math.max(...ys) };
}

window.SiteMap = SiteMap;
window.ACTIVITY_COLOURS = ACTIVITY_COLOURS;
window.markerPosition = position;
