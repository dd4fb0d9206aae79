// The status page: HTML, CSS and script in one document, so it works from a plain browser on a
// machine without internet access, and the server has one string to send.
//
// The script keeps the last answers of api/ and renders everything from them after each poll;
// tables are rebuilt whole (a few hundred rows at most: the driver keeps a bounded history).
// Every string from the API goes through esc() before it reaches innerHTML. A selected job or
// stage is kept in the URL's fragment, so a reload shows the same thing.
#include "ui/status_page.hpp"

namespace spate::detail {

namespace {

constexpr std::string_view kPage = R"spate_page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spate</title>
<style>
:root {
  --bg: #ffffff; --fg: #1c2126; --muted: #5d6873; --line: #dce1e6; --head: #f3f5f7;
  --card: #ffffff; --hover: #eef3fb; --sel: #dde8fa;
  --blue: #2f6fdb; --green: #2a8a55; --red: #c63a35; --grey: #98a2ac; --amber: #c0851b;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181b; --fg: #e3e7eb; --muted: #98a3ad; --line: #30363c; --head: #1d2125;
    --card: #1b1f23; --hover: #222a35; --sel: #253651;
    --blue: #5b93f0; --green: #46b077; --red: #e06560; --grey: #6f7982; --amber: #d9a140;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
       font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 24px;
         padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--head); }
header h1 { margin: 0; font-size: 18px; }
header .field { color: var(--muted); }
header .field b { color: var(--fg); font-weight: 600; }
#conn { margin-left: auto; color: var(--muted); }
#conn[data-state="error"] { color: var(--red); font-weight: 600; }
main { padding: 4px 20px 40px; }
section { margin-top: 18px; }
h2 { font-size: 15px; margin: 0 0 8px; }
h2 .note { font-weight: normal; color: var(--muted); margin-left: 8px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; white-space: nowrap; }
th { background: var(--head); font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; }
td.wrap { white-space: normal; min-width: 14em; max-width: 36em; overflow-wrap: anywhere; }
tr.pick { cursor: pointer; }
tr.pick:hover { background: var(--hover); }
tr.pick:focus-visible { outline: 2px solid var(--blue); outline-offset: -2px; }
tr[aria-selected="true"] { background: var(--sel); }
.empty { color: var(--muted); font-style: italic; padding: 6px 0; }
.err { color: var(--red); font-size: 12px; white-space: pre-wrap; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px;
         border: 1px solid currentColor; }
.s-pending, .s-skipped { color: var(--grey); } .s-running { color: var(--blue); }
.s-succeeded, .s-alive { color: var(--green); }
.s-failed, .s-lost { color: var(--red); } .s-fetch_failed { color: var(--amber); }
.bar { display: inline-flex; width: 90px; height: 8px; border-radius: 4px; overflow: hidden;
       background: var(--line); vertical-align: middle; margin-right: 6px; }
.bar .done { background: var(--green); } .bar .run { background: var(--blue); }
button { font: inherit; background: var(--card); color: var(--fg); border: 1px solid var(--line);
         border-radius: 4px; padding: 1px 8px; cursor: pointer; }
a { color: var(--blue); cursor: pointer; }
#dag svg { display: block; max-width: 100%; height: auto; }
#dag .box { fill: var(--card); stroke: var(--grey); stroke-width: 1.5; }
.dag-stage { cursor: pointer; }
.dag-stage[data-status="running"] .box { stroke: var(--blue); }
.dag-stage[data-status="succeeded"] .box { stroke: var(--green); }
.dag-stage[data-status="failed"] .box { stroke: var(--red); }
.dag-stage.reused .box { stroke-dasharray: 5 4; opacity: .75; }
.dag-stage.selected .box { stroke-width: 3.5; }
.dag-stage:focus { outline: none; }
.dag-stage:focus-visible .box { stroke-width: 3.5; }
.dag-stage text { fill: var(--fg); font-size: 12px; }
.dag-stage text.dim { fill: var(--muted); }
.dag-stage text.status { font-size: 11px; }
.dag-stage[data-status="running"] text.status { fill: var(--blue); }
.dag-stage[data-status="succeeded"] text.status { fill: var(--green); }
.dag-stage[data-status="failed"] text.status { fill: var(--red); }
.dag-bar { fill: var(--line); } .dag-done { fill: var(--green); } .dag-run { fill: var(--blue); }
.dag-edge { fill: none; stroke: var(--muted); stroke-width: 1.4; }
#arrowhead path { fill: var(--muted); }
</style>
</head>
<body>
<header>
  <h1>spate</h1>
  <span class="field">app <b id="app-name">&ndash;</b></span>
  <span class="field">master <b id="app-master">&ndash;</b></span>
  <span class="field">uptime <b id="app-uptime">&ndash;</b></span>
  <span class="field">running jobs <b id="app-running">&ndash;</b></span>
  <span id="conn" data-state="loading">loading&hellip;</span>
</header>
<main>
  <section id="jobs-section">
    <h2>Jobs</h2>
    <div class="scroll"><table id="jobs">
      <thead><tr><th class="num">Job</th><th>Description</th><th>Status</th>
        <th class="num">Duration</th><th>Stages</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="empty" id="jobs-empty">No jobs yet.</p>
  </section>
  <section id="dag-section">
    <h2>Stage DAG <span class="note" id="dag-note"></span></h2>
    <div id="dag" class="scroll"></div>
  </section>
  <section id="stages-section">
    <h2>Stages <span class="note">click one for its tasks</span></h2>
    <div class="scroll"><table id="stages">
      <thead><tr><th class="num">Stage</th><th class="num">Job</th><th>Kind</th><th>Name</th>
        <th>Status</th><th>Tasks done / total</th><th class="num">Running</th>
        <th class="num">Failed</th><th class="num">Records in / out</th>
        <th class="num">Bytes in / out</th><th class="num">Shuffle read / write</th>
        <th class="num">Spill</th><th class="num">Duration</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="empty" id="stages-empty">No stages yet.</p>
  </section>
  <section id="tasks-section" hidden>
    <h2>Tasks of stage <span id="tasks-stage"></span>
      <button type="button" id="tasks-close">close</button></h2>
    <div class="scroll"><table id="tasks">
      <thead><tr><th class="num">Partition</th><th class="num">Attempt</th><th>Executor</th>
        <th>Status</th><th>Started</th><th class="num">Duration</th>
        <th class="num">Records in</th><th class="num">Bytes in</th>
        <th class="num">Records out</th><th class="num">Bytes out</th><th>Message</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="empty" id="tasks-empty"></p>
  </section>
  <section id="executors-section">
    <h2>Executors</h2>
    <div class="scroll"><table id="executors">
      <thead><tr><th>Executor</th><th class="num">PID</th><th>Address</th>
        <th class="num">Cores</th><th>State</th><th class="num">Running tasks</th>
        <th class="num">Tasks done</th><th>Memory used / budget</th>
        <th class="num">Shuffle read</th><th class="num">Shuffle write</th>
        <th>Lost reason</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="empty" id="executors-empty">No executors.</p>
  </section>
</main>
<script>
"use strict";

// The last answers of api/, and what the user picked. job: a job id the user chose, or null to
// follow the newest job; stage: the stage whose tasks are shown, or null.
const state = { app: null, jobs: [], stages: [], executors: [], tasks: null, tasksError: null,
                error: null, updated: null, job: null, stage: null };

const $ = id => document.getElementById(id);

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function num(n) { return n == null ? "\u2013" : Number(n).toLocaleString("en-US"); }

function bytes(n) {
  if (n == null) return "\u2013";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let x = Number(n), i = 0;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  if (i === 0) return x + " B";
  return x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0) + " " + units[i];
}

function duration(ms) {
  if (ms == null) return "\u2013";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min " + Math.floor(s % 60) + " s";
  const h = Math.floor(m / 60);
  if (h < 24) return h + " h " + (m % 60) + " min";
  return Math.floor(h / 24) + " d " + (h % 24) + " h";
}

function clock(ms) { return ms == null ? "\u2013" : new Date(ms).toLocaleTimeString(); }

function badge(status) { return `<span class="badge s-${esc(status)}">${esc(status)}</span>`; }

// Failed attempts are retried, so they are no share of the tasks: the bar shows done and running.
function bar(done, running, total, title) {
  const pct = v => (total > 0 ? Math.min(100, (100 * v) / total) : 0).toFixed(1) + "%";
  return `<span class="bar" title="${esc(title)}">` +
         `<span class="done" style="width:${pct(done)}"></span>` +
         `<span class="run" style="width:${pct(running)}"></span></span>`;
}

function shorten(text, max) {
  text = String(text ?? "");
  return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
}

// The job whose DAG is shown: the one picked, while it is still known, else the newest.
function shownJob() {
  const picked = state.jobs.find(j => j.job === state.job);
  return picked || (state.jobs.length ? state.jobs[state.jobs.length - 1] : null);
}

function renderHeader() {
  const app = state.app;
  if (app) {
    $("app-name").textContent = app.app;
    $("app-master").textContent = app.master;
    $("app-uptime").textContent = duration(app.now - app.start);
    $("app-running").textContent = num(app.running_jobs);
    document.title = "spate \u00b7 " + app.app + (app.running_jobs > 0 ? " \u00b7 running" : "");
  }
  const conn = $("conn");
  if (state.error) {
    conn.dataset.state = "error";
    conn.textContent = "cannot reach the driver (" + state.error + ")" +
                       (state.updated ? "; data from " + clock(state.updated) : "");
  } else if (state.updated) {
    conn.dataset.state = "ok";
    conn.textContent = "updated " + clock(state.updated);
  }
}

function renderJobs() {
  const shown = shownJob();
  const rows = state.jobs.slice().reverse().map(j => {
    const selected = shown && j.job === shown.job;
    const error = j.error ? `<div class="err">${esc(j.error)}</div>` : "";
    return `<tr class="job pick" tabindex="0" data-job="${esc(j.job)}"` +
           ` data-status="${esc(j.status)}" aria-selected="${selected}">` +
           `<td class="num">${esc(j.job)}</td>` +
           `<td class="wrap">${esc(j.description)}${error}</td><td>${badge(j.status)}` +
           (j.status === "running"
              ? ` <button type="button" class="cancel" data-cancel="${esc(j.job)}">cancel</button>` : "") +
           `</td>` +
           `<td class="num">${duration(j.duration_ms)}</td>` +
           `<td>${esc((j.stages || []).join(", "))}</td></tr>`;
  });
  $("jobs").tBodies[0].innerHTML = rows.join("");
  $("jobs-empty").hidden = rows.length > 0;
}

// Boxes by depth (a stage's depth is 1 + its parents' deepest), left to right; within a column,
// ordered by where their parents sit, so edges cross less.
function renderDag() {
  const job = shownJob();
  const note = $("dag-note"), dag = $("dag");
  if (!job) { note.textContent = ""; dag.innerHTML = '<p class="empty">No jobs yet.</p>'; return; }
  const newest = state.jobs[state.jobs.length - 1];
  note.innerHTML = `of job ${esc(job.job)} \u00b7 ${badge(job.status)}` +
                   (job !== newest ? ' \u00b7 <a id="follow-newest">show the newest job</a>' : "");
  const byId = new Map(state.stages.map(s => [s.stage, s]));
  const ids = new Set((job.stages || []).filter(id => byId.has(id)));
  for (const s of state.stages) if (s.job === job.job) ids.add(s.stage);
  // Stages of earlier jobs whose shuffle output this job reads: shown dashed.
  for (const id of [...ids]) {
    for (const p of byId.get(id).parents || []) if (byId.has(p)) ids.add(p);
  }
  if (!ids.size) { dag.innerHTML = '<p class="empty">No stages yet.</p>'; return; }

  const parentsOf = id => (byId.get(id).parents || []).filter(p => ids.has(p));
  const depth = new Map();
  const depthOf = (id, visiting) => {
    if (depth.has(id)) return depth.get(id);
    if (visiting.has(id)) return 1;  // a cycle would be a bug upstream; do not recurse forever
    visiting.add(id);
    const ps = parentsOf(id);
    const d = ps.length ? 1 + Math.max(...ps.map(p => depthOf(p, visiting))) : 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const columns = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    const d = depthOf(id, new Set());
    (columns[d - 1] = columns[d - 1] || []).push(id);
  }
  const W = 220, H = 78, GX = 60, GY = 18, PAD = 12;
  const pos = new Map();
  columns.forEach((column, c) => {
    if (!column) return;
    const key = id => {
      const rows = parentsOf(id).map(p => pos.get(p)).filter(Boolean).map(q => q.row);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
    };
    column.sort((a, b) => key(a) - key(b) || a - b);
    column.forEach((id, row) =>
      pos.set(id, { x: PAD + c * (W + GX), y: PAD + row * (H + GY), row }));
  });
  const width = PAD * 2 + columns.length * W + (columns.length - 1) * GX;
  const height = PAD * 2 + Math.max(...columns.map(c => (c ? c.length : 0))) * (H + GY) - GY;

  let edges = "", boxes = "";
  for (const id of ids) {
    const to = pos.get(id);
    for (const p of parentsOf(id)) {
      const from = pos.get(p);
      const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x - 2, y2 = to.y + H / 2;
      edges += `<path class="dag-edge" data-from="${esc(p)}" data-to="${esc(id)}"` +
               ` marker-end="url(#arrowhead)"` +
               ` d="M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}"/>`;
    }
    const s = byId.get(id), at = pos.get(id);
    const total = s.tasks || 0, bw = W - 20;
    const part = v => (total > 0 ? Math.min(bw, (bw * v) / total) : 0);
    const reused = s.job !== job.job;
    const classes = "dag-stage" + (reused ? " reused" : "") +
                    (state.stage === id ? " selected" : "");
    const title = `stage ${id} (${s.kind}), job ${s.job}: ${s.name} \u2014 ${s.status}`;
    boxes +=
      `<g class="${classes}" data-stage="${esc(id)}" data-status="${esc(s.status)}" tabindex="0"` +
      ` transform="translate(${at.x},${at.y})">` +
      `<title>${esc(title)}</title><rect class="box" width="${W}" height="${H}" rx="6"/>` +
      `<text x="10" y="18"><tspan font-weight="600">Stage ${esc(id)}</tspan>` +
      ` \u00b7 ${esc(s.kind)}${reused ? " \u00b7 job " + esc(s.job) : ""}</text>` +
      `<text class="status" x="${W - 10}" y="18" text-anchor="end">${esc(s.status)}</text>` +
      `<text class="dim" x="10" y="37">${esc(shorten(s.name, 32))}</text>` +
      `<rect class="dag-bar" x="10" y="47" width="${bw}" height="8" rx="4"/>` +
      `<rect class="dag-done" x="10" y="47" width="${part(s.done).toFixed(1)}" height="8"` +
      ` rx="4"/>` +
      `<rect class="dag-run" x="${(10 + part(s.done)).toFixed(1)}" y="47"` +
      ` width="${part(s.running).toFixed(1)}" height="8"/>` +
      `<text class="dim" x="10" y="70">${num(s.done)}/${num(total)} done` +
      `${s.running ? " \u00b7 " + num(s.running) + " running" : ""}` +
      `${s.failed ? " \u00b7 " + num(s.failed) + " failed" : ""}</text></g>`;
  }
  dag.innerHTML =
    `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"` +
    ` aria-label="stage DAG of job ${esc(job.job)}"><defs>` +
    `<marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"` +
    ` markerHeight="7" orient="auto-start-reverse">` +
    `<path d="M0,0 L10,5 L0,10 z"/></marker></defs>${edges}${boxes}</svg>`;
}

function renderStages() {
  const rows = state.stages.slice().sort((a, b) => b.stage - a.stage).map(s => {
    const title = `${s.done} done, ${s.running} running, ${s.failed} failed of ${s.tasks}`;
    const kind = s.kind === "map" && s.shuffle >= 0 ? `map (shuffle ${s.shuffle})` : s.kind;
    return `<tr class="stage pick" tabindex="0" data-stage="${esc(s.stage)}"` +
           ` data-job="${esc(s.job)}" data-status="${esc(s.status)}"` +
           ` aria-selected="${state.stage === s.stage}">` +
           `<td class="num">${esc(s.stage)}</td><td class="num">${esc(s.job)}</td>` +
           `<td>${esc(kind)}</td>` +
           `<td class="wrap">${esc(s.name)}</td><td>${badge(s.status)}</td>` +
           `<td>${bar(s.done, s.running, s.tasks, title)}${num(s.done)} / ${num(s.tasks)}</td>` +
           `<td class="num">${num(s.running)}</td><td class="num">${num(s.failed)}</td>` +
           `<td class="num">${num(s.records_in)} / ${num(s.records_out)}</td>` +
           `<td class="num">${bytes(s.bytes_in)} / ${bytes(s.bytes_out)}</td>` +
           `<td class="num">${bytes(s.shuffle_read_bytes)} / ${bytes(s.shuffle_write_bytes)}</td>` +
           `<td class="num">${bytes(s.spill_bytes)}</td>` +
           `<td class="num">${s.start == null ? "\u2013" : duration(s.duration_ms)}</td></tr>`;
  });
  $("stages").tBodies[0].innerHTML = rows.join("");
  $("stages-empty").hidden = rows.length > 0;
}

function renderTasks() {
  const section = $("tasks-section");
  section.hidden = state.stage == null;
  if (state.stage == null) return;
  $("tasks-stage").textContent = state.stage;
  const tasks = state.tasks || [];
  const order = (a, b) => a.partition - b.partition || a.attempt - b.attempt;
  const rows = tasks.slice().sort(order).map(t =>
    `<tr class="task" data-partition="${esc(t.partition)}" data-attempt="${esc(t.attempt)}"` +
    ` data-status="${esc(t.status)}"><td class="num">${esc(t.partition)}</td>` +
    `<td class="num">${esc(t.attempt)}</td><td>${esc(t.executor)}</td><td>${badge(t.status)}</td>` +
    `<td>${clock(t.start)}</td><td class="num">${duration(t.duration_ms)}</td>` +
    `<td class="num">${num(t.records_in)}</td><td class="num">${bytes(t.bytes_in)}</td>` +
    `<td class="num">${num(t.records_out)}</td><td class="num">${bytes(t.bytes_out)}</td>` +
    `<td class="wrap">${t.message ? `<span class="err">${esc(t.message)}</span>` : ""}</td></tr>`);
  $("tasks").tBodies[0].innerHTML = rows.join("");
  const empty = $("tasks-empty");
  empty.hidden = rows.length > 0;
  empty.textContent =
    state.tasksError ? "The driver no longer keeps this stage's tasks (" + state.tasksError + ")."
    : state.tasks == null ? "Loading\u2026" : "No task has started yet.";
}

function renderExecutors() {
  const rows = state.executors.map(e => {
    const used = e.memory_used || 0, budget = e.memory_budget || 0;
    const memory = budget > 0
      ? bar(used, 0, budget, bytes(used) + " of " + bytes(budget)) +
        `${bytes(used)} / ${bytes(budget)}`
      : bytes(used);
    const reason = e.lost_reason ? `<span class="err">${esc(e.lost_reason)}</span>` : "";
    return `<tr class="executor" data-executor="${esc(e.executor)}" data-state="${esc(e.state)}">` +
           `<td>${esc(e.executor)}</td><td class="num">${esc(e.pid)}</td>` +
           `<td>${esc(e.address)}</td>` +
           `<td class="num">${num(e.cores)}</td><td>${badge(e.state)}</td>` +
           `<td class="num">${num(e.running_tasks)}</td><td class="num">${num(e.tasks_done)}</td>` +
           `<td>${memory}</td><td class="num">${bytes(e.shuffle_read_bytes)}</td>` +
           `<td class="num">${bytes(e.shuffle_write_bytes)}</td>` +
           `<td class="wrap">${reason}</td></tr>`;
  });
  $("executors").tBodies[0].innerHTML = rows.join("");
  $("executors-empty").hidden = rows.length > 0;
}

function render() {
  renderHeader();
  renderJobs();
  renderDag();
  renderStages();
  renderTasks();
  renderExecutors();
}

async function get(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) {
    throw new Error(path + ": " + response.status + " " + (await response.text()).trim());
  }
  return response.json();
}

// One poll at a time: a click that wants fresh data while one runs asks for another after it.
let timer = null, polling = false, pollAgain = false;

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(poll, ms);
}

async function poll() {
  if (polling) { pollAgain = true; return; }
  polling = true;
  let delay = 5000;
  try {
    const [app, jobs, stages, executors] = await Promise.all(
      [get("api/app"), get("api/jobs"), get("api/stages"), get("api/executors")]);
    let tasks = null, tasksError = null;
    const stage = state.stage;
    if (stage != null) {
      try { tasks = await get("api/stages/" + encodeURIComponent(stage) + "/tasks"); }
      catch (e) { tasksError = e.message; }
    }
    Object.assign(state, { app, jobs, stages, executors, error: null, updated: Date.now() });
    if (stage === state.stage) Object.assign(state, { tasks, tasksError });
    if (app.running_jobs > 0) delay = 1000;
  } catch (e) {
    state.error = e.message;
  }
  render();
  polling = false;
  if (pollAgain) { pollAgain = false; delay = 0; }
  schedule(delay);
}

function saveSelection() {
  const parts = [];
  if (state.job != null) parts.push("job=" + state.job);
  if (state.stage != null) parts.push("stage=" + state.stage);
  const url = parts.length ? "#" + parts.join("&") : location.pathname + location.search;
  history.replaceState(null, "", url);
}

function loadSelection() {
  const params = new URLSearchParams(location.hash.slice(1));
  const int = name => (/^\d+$/.test(params.get(name) ?? "") ? Number(params.get(name)) : null);
  state.job = int("job");
  state.stage = int("stage");
}

function selectStage(id) {
  state.stage = state.stage === id ? null : id;
  state.tasks = null;
  state.tasksError = null;
  saveSelection();
  render();
  if (state.stage != null) schedule(0);
}

function selectJob(id) {
  state.job = id;
  saveSelection();
  render();
}

// The cancel button: a POST with a header of our own, which only this page's origin may send.
async function cancelJob(id, button) {
  button.disabled = true;
  try {
    await fetch(`api/jobs/${id}/cancel`, { method: "POST", headers: { "X-Spate-Action": "cancel" } });
  } catch (e) { /* the next poll shows what happened */ }
  schedule(0);
}

function activate(target) {
  const cancel = target.closest("button.cancel");
  if (cancel) return cancelJob(Number(cancel.dataset.cancel), cancel);
  if (target.closest("#follow-newest")) return selectJob(null);
  if (target.closest("#tasks-close")) return selectStage(null);
  const job = target.closest("tr.job");
  if (job) return selectJob(Number(job.dataset.job));
  const stage = target.closest("tr.stage, g.dag-stage");
  if (stage) return selectStage(Number(stage.dataset.stage));
}

document.addEventListener("click", e => activate(e.target));
document.addEventListener("keydown", e => {
  if ((e.key === "Enter" || e.key === " ") && e.target.closest("tr.pick, g.dag-stage")) {
    e.preventDefault();
    activate(e.target);
  }
});
loadSelection();
render();
poll();
</script>
</body>
</html>
)spate_page";

}  // namespace

std::string_view status_page_html() noexcept { return kPage; }

}  // namespace spate::detail
