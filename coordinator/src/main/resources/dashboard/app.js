// The farm dashboard: one page, no libraries. It follows the coordinator over the websocket
// protocol (docs/websocket.md): every job of the tenant as summaries, plus the open job's tasks.
// Workers come from the REST API every two seconds.
'use strict';

const MODES = {text_to_image: 'text to image', controlnet: 'ControlNet', train_controlnet: 'ControlNet training'};
const TILE_PAGE = 240;           // tiles drawn at first for a big job; "show more" adds pages
const THROUGHPUT_POINTS = 300;   // one point a second: five minutes of history

const state = {
  jobs: new Map(),               // job id -> summary
  job: null,                     // the open job: {id, summary, tasks: [], previews: Map}
  lastId: null,                  // last event id seen, for resuming after a reconnect
  throughput: [],                // images per second, one point a second
  lastDone: null,
  tilesShown: TILE_PAGE,
  signedIn: false,
};

// ---- websocket -------------------------------------------------------------------------------

let socket = null;
let retryMs = 500;

function connect() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  socket = new WebSocket(url);
  socket.onopen = () => {
    retryMs = 500;
    setConn(true);
    send({type: 'subscribe', all: true});
    if (state.job) subscribeJob(state.job.id, true);
  };
  socket.onmessage = (m) => onFrame(JSON.parse(m.data));
  socket.onclose = async () => {
    setConn(false);
    socket = null;
    if (!(await whoami())) { showSignIn('Signed out: the token has expired or was revoked.'); return; }
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

function send(msg) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function subscribeJob(id, resume) {
  const msg = {type: 'subscribe', jobs: [id]};
  if (resume && state.lastId) msg.since = state.lastId;
  send(msg);
}

function setConn(up) {
  const el = document.getElementById('conn');
  el.textContent = up ? 'live' : 'reconnecting';
  el.className = 'conn ' + (up ? 'up' : 'down');
}

function onFrame(f) {
  if (f.last_id) state.lastId = f.last_id;
  if (f.type === 'snapshot') {
    state.jobs.set(f.job.job_id, f.job);
    if (state.job && state.job.id === f.job.job_id) {
      state.job.summary = f.job;
      state.job.tasks = f.tasks;
      renderJob(true);
    }
  } else if (f.type === 'events') {
    for (const e of f.events) onEvent(e);
    if (route().page === 'jobs') renderJobs();
    else if (route().page === 'job') renderJob(false);
  } else if (f.type === 'error') {
    showError('websocket: ' + f.field + ': ' + f.message);
  }
}

function onEvent(e) {
  state.jobs.set(e.job.job_id, e.job);
  const job = state.job;
  if (!job || job.id !== e.job.job_id) return;
  job.summary = e.job;
  if (e.task) {
    const old = job.tasks[e.task.index];
    job.tasks[e.task.index] = e.task;
    if (e.preview_png) job.previews.set(e.task.index, e.preview_png);
    if (e.task.state !== 'running') job.previews.delete(e.task.index);
    job.dirty.add(e.task.index);
    if (old && old.state !== e.task.state && e.task.state === 'succeeded') job.dirty.add(e.task.index);
  }
}

// ---- routing ---------------------------------------------------------------------------------

function route() {
  const h = location.hash || '#/';
  const m = h.match(/^#\/jobs\/([A-Za-z0-9._-]+)$/);
  if (m) return {page: 'job', id: m[1]};
  if (h === '#/workers') return {page: 'workers'};
  return {page: 'jobs'};
}

function onRoute() {
  const r = route();
  document.getElementById('nav-jobs').className = r.page !== 'workers' ? 'active' : '';
  document.getElementById('nav-workers').className = r.page === 'workers' ? 'active' : '';
  if (state.job && (r.page !== 'job' || r.id !== state.job.id)) {
    send({type: 'unsubscribe', jobs: [state.job.id]});
    state.job = null;
  }
  const main = document.getElementById('main');
  main.innerHTML = '';
  if (r.page === 'job') {
    state.job = {id: r.id, summary: state.jobs.get(r.id) || null, tasks: [], previews: new Map(), dirty: new Set(), tiles: []};
    state.tilesShown = TILE_PAGE;
    main.appendChild(jobSkeleton(r.id));
    subscribeJob(r.id, false);
  } else if (r.page === 'workers') {
    main.innerHTML = '<h2>Workers</h2><table id="workers-table"><thead><tr><th>worker</th><th>state</th><th>device</th>'
      + '<th>memory</th><th>models</th><th>current task</th><th>images/s</th><th>done</th><th>health</th></tr></thead><tbody></tbody></table>';
    loadWorkers();
  } else {
    main.innerHTML = '<h2>Farm throughput</h2><canvas id="throughput" width="900" height="160"></canvas>'
      + '<p class="muted" id="throughput-label"></p><h2>Jobs</h2>'
      + '<table id="jobs-table"><thead><tr><th>job</th><th>name</th><th>state</th><th>progress</th><th>images</th>'
      + '<th>ETA</th><th>images/s</th><th>priority</th></tr></thead><tbody></tbody></table>';
    renderJobs();
    drawThroughput();
  }
}

// ---- jobs list -------------------------------------------------------------------------------

function renderJobs() {
  const body = document.querySelector('#jobs-table tbody');
  if (!body) return;
  const jobs = [...state.jobs.values()].sort((a, b) => b.submitted_at_ms - a.submitted_at_ms);
  body.innerHTML = '';
  for (const j of jobs) {
    const tr = document.createElement('tr');
    tr.className = 'job-row';
    tr.dataset.job = j.job_id;
    tr.onclick = () => { location.hash = '#/jobs/' + j.job_id; };
    tr.innerHTML = `<td>${esc(j.job_id)}</td><td>${esc(j.name || '')}</td><td class="state ${j.state}">${j.state}</td>`
      + `<td>${bar(j)}</td><td>${j.succeeded}/${j.task_count}${j.failed ? ` <span class="err">(${j.failed} failed)</span>` : ''}</td>`
      + `<td>${eta(j)}</td><td>${j.images_per_second ? j.images_per_second.toFixed(2) : ''}</td><td>${j.priority}</td>`;
    body.appendChild(tr);
  }
}

function bar(j, wide) {
  const pct = Math.round((j.progress || 0) * 1000) / 10;
  const cls = j.state === 'succeeded' ? 'done' : (j.state === 'failed' || j.state === 'cancelled') ? 'failed' : '';
  return `<span class="bar ${cls} ${wide ? 'wide' : ''}" data-progress="${pct}" title="${pct}%"><span style="width:${pct}%"></span></span>`
    + (wide ? '' : ` ${pct}%`);
}

function eta(j) {
  if (j.eta_seconds == null || j.eta_seconds < 0 || j.state !== 'running') return '';
  const s = j.eta_seconds;
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

// ---- one job ---------------------------------------------------------------------------------

function jobSkeleton(id) {
  const div = document.createElement('div');
  div.innerHTML = `<div class="panel"><h2 id="job-title">${esc(id)}</h2><div id="job-bar"></div>`
    + `<p class="stats" id="job-stats"></p>`
    + `<div class="actions"><button id="btn-cancel">Cancel</button><button id="btn-suspend">Suspend</button>`
    + `<button id="btn-resume">Resume</button> priority <input id="priority" type="number" min="-100" max="100">`
    + `<button id="btn-priority">Set</button> <span id="action-result" class="muted"></span></div></div>`
    + `<h3>Failed tasks</h3><div id="failed" class="muted">none</div>`
    + `<h3>Tasks</h3><div class="tiles" id="tiles"></div><p><button id="more" hidden>Show more</button></p>`;
  div.querySelector('#btn-cancel').onclick = () => act(id, 'cancel', 'POST');
  div.querySelector('#btn-suspend').onclick = () => act(id, 'suspend', 'POST');
  div.querySelector('#btn-resume').onclick = () => act(id, 'resume', 'POST');
  div.querySelector('#btn-priority').onclick = () => act(id, 'priority', 'PUT', {priority: Number(div.querySelector('#priority').value)});
  div.querySelector('#more').onclick = () => { state.tilesShown += TILE_PAGE; renderJob(true); };
  return div;
}

async function act(id, what, method, body) {
  const out = document.getElementById('action-result');
  try {
    const r = await fetch(`/api/v1/jobs/${id}/${what}`, {method, headers: {'content-type': 'application/json'},
      body: body ? JSON.stringify(body) : undefined});
    const j = await r.json();
    out.textContent = r.ok ? `${what}: accepted` : `${what}: ${j.error}`;
    out.className = r.ok ? 'muted' : 'error-box';
  } catch (e) {
    out.textContent = `${what}: ${e}`;
    out.className = 'error-box';
  }
}

function renderJob(full) {
  const job = state.job;
  if (!job || !job.summary || !document.getElementById('tiles')) return;
  const s = job.summary;
  document.getElementById('job-title').textContent = `${s.name || s.job_id} (${s.job_id})`;
  document.getElementById('job-bar').innerHTML = bar(s, true);
  document.getElementById('job-stats').innerHTML = `<span class="state ${s.state}" id="job-state">${s.state}</span>`
    + `<span id="job-images">${s.succeeded}/${s.task_count} images</span><span>${s.running} rendering</span>`
    + `<span>${s.queued} queued</span><span>${s.failed} failed</span>`
    + (s.images_per_second ? `<span>${s.images_per_second.toFixed(2)} images/s</span>` : '')
    + (eta(s) ? `<span>ETA ${eta(s)}</span>` : '') + `<span>priority ${s.priority}</span>`
    + `<span id="job-mode">${MODES[s.mode] || 'ControlNet'}, ${s.mode === 'train_controlnet' ? 'base' : 'model'} ${esc(s.model || '')}</span>`;
  const pr = document.getElementById('priority');
  if (document.activeElement !== pr) pr.value = s.priority;

  const tiles = document.getElementById('tiles');
  const shown = Math.min(job.tasks.length, state.tilesShown);
  if (full) {
    tiles.innerHTML = '';
    job.tiles = [];
    for (let i = 0; i < shown; i++) {
      const t = document.createElement('div');
      tiles.appendChild(t);
      job.tiles.push(t);
      drawTile(t, job.tasks[i], job);
    }
  } else {
    for (const i of job.dirty) if (i < job.tiles.length) drawTile(job.tiles[i], job.tasks[i], job);
  }
  job.dirty.clear();
  document.getElementById('more').hidden = shown >= job.tasks.length;

  const failed = job.tasks.filter(t => t && t.state === 'failed');
  const box = document.getElementById('failed');
  box.className = failed.length ? '' : 'muted';
  box.innerHTML = failed.length ? failed.slice(0, 50).map(t => `<div class="err">#${t.index}: ${esc(t.error)}</div>`).join('')
    + (failed.length > 50 ? `<div class="muted">and ${failed.length - 50} more</div>` : '') : 'none';
}

function drawTile(el, t, job) {
  if (!t) return;
  el.className = 'tile ' + t.state;
  el.dataset.index = t.index;
  const key = t.state + ':' + t.step + ':' + t.attempt + ':' + (job.previews.has(t.index) ? 'p' : '');
  if (el.dataset.key === key && t.state !== 'running') return;
  el.dataset.key = key;
  let inner = `<div>#${t.index} <span class="muted">${t.state}${t.attempt > 1 ? ' (attempt ' + t.attempt + ')' : ''}</span></div>`;
  const training = t.loss > 0 || !!t.sample_key;
  el.classList.toggle('training', training);
  const base = `/api/v1/jobs/${job.id}/tasks/${t.index}`;
  if (training) {
    // a training task: its latest sample grid (control map | sample | data set image), the loss curve and the samples' scores
    const p = t.state === 'running' ? job.previews.get(t.index) : null;
    if (p) inner += `<img class="grid" alt="sample grid" src="data:image/png;base64,${p}">`;
    else if (t.sample_key) inner += `<img class="grid" alt="sample grid" src="${base}/sample?step=${t.step}">`;
    if (t.state === 'running') {
      const pct = t.total_steps ? Math.round(100 * t.step / t.total_steps) : 0;
      inner += `<span class="bar" style="width:100%"><span style="width:${pct}%"></span></span>`;
    }
    inner += `<div class="muted">step ${t.step}/${t.total_steps}${t.worker ? ' on ' + esc(t.worker) : ''}, loss ${t.loss.toFixed(4)}`
      + `, lr ${t.learning_rate.toExponential(1)}${t.steps_per_second > 0 ? ', ' + t.steps_per_second.toFixed(2) + ' steps/s' : ''}`
      + (t.sample_key ? `, edge F1 ${t.edge_f1.toFixed(2)} (base alone ${t.baseline_edge_f1.toFixed(2)})` : '') + `</div>`
      + `<div class="loss-chart" title="loss (blue, log scale) and the samples' edge F1 (red, 0 to 1) against steps"></div>`;
    if (t.state === 'failed' || t.state === 'retrying') inner += `<div class="err">${esc(t.error)}</div>`;
    el.innerHTML = inner;
    trainingChart(el, job, t);
    return;
  }
  if (t.state === 'succeeded') {
    inner += `<div class="images"><img class="thumb" alt="image ${t.index}" src="${base}/image">`
      + `<img class="control" alt="control map" title="control map" src="${base}/control/0" onerror="this.remove()"></div>`
      + `<div class="muted">${t.render_ms} ms on ${esc(t.worker)}</div>`;
  } else if (t.state === 'running') {
    const p = job.previews.get(t.index);
    if (p) inner += `<img class="preview" alt="preview" src="data:image/png;base64,${p}">`;
    const pct = t.total_steps ? Math.round(100 * t.step / t.total_steps) : 0;
    inner += `<span class="bar" style="width:100%"><span style="width:${pct}%"></span></span>`
      + `<div class="muted">step ${t.step}/${t.total_steps} on ${esc(t.worker)}</div>`;
  } else if (t.state === 'failed' || t.state === 'retrying') {
    inner += `<div class="err">${esc(t.error)}</div>`;
  }
  el.innerHTML = inner;
}

// A training task's loss curve, fetched from the coordinator at most every two seconds and kept per task,
// so that redrawing a tile on each step does not refetch it.
function trainingChart(el, job, t) {
  const charts = job.charts || (job.charts = new Map());
  const entry = charts.get(t.index) || {at: 0, busy: false, svg: ''};
  charts.set(t.index, entry);
  const holder = el.querySelector('.loss-chart');
  if (holder && entry.svg) holder.innerHTML = entry.svg;
  if (entry.busy || Date.now() - entry.at < 2000) return;
  entry.busy = true;
  fetch(`/api/v1/jobs/${job.id}/tasks/${t.index}/training`).then(r => r.ok ? r.json() : null).then(h => {
    if (h) entry.svg = lossSvg(h);
    const now = el.querySelector('.loss-chart');
    if (now && entry.svg) now.innerHTML = entry.svg;
  }).catch(() => {}).finally(() => { entry.busy = false; entry.at = Date.now(); });
}

function lossSvg(h) {
  const W = 300, H = 110, pad = 4;
  const pts = (h.loss || []).filter(p => p[1] > 0);
  if (pts.length < 2) return '';
  const maxStep = Math.max(pts[pts.length - 1][0], ...(h.samples || []).map(s => s.step));
  const logs = pts.map(p => Math.log10(p[1]));
  const lo = Math.min(...logs), hi = Math.max(...logs), span = Math.max(hi - lo, 1e-6);
  const x = st => pad + (W - 2 * pad) * st / Math.max(maxStep, 1);
  const y = v => pad + (H - 2 * pad) * (1 - v);
  const loss = pts.map((p, i) => `${x(p[0]).toFixed(1)},${y((logs[i] - lo) / span).toFixed(1)}`).join(' ');
  const f1 = (h.samples || []).map(s => `<circle cx="${x(s.step).toFixed(1)}" cy="${y(s.edge_f1).toFixed(1)}" r="2.5" fill="#c62828">`
    + `<title>step ${s.step}: edge F1 ${s.edge_f1.toFixed(3)} (base alone ${s.baseline_edge_f1.toFixed(3)})</title></circle>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="loss curve">`
    + `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff" stroke="#e0e0e0"/>`
    + `<polyline points="${loss}" fill="none" stroke="#1565c0" stroke-width="1.2"/>${f1}`
    + `<text x="${W - pad}" y="12" font-size="9" text-anchor="end" fill="#757575">loss ${Math.pow(10, hi).toPrecision(2)}`
    + ` to ${Math.pow(10, lo).toPrecision(2)}</text></svg>`;
}

// ---- workers ---------------------------------------------------------------------------------

async function loadWorkers() {
  const body = document.querySelector('#workers-table tbody');
  if (!body) return;
  try {
    const r = await fetch('/api/v1/workers');
    const j = await r.json();
    body.innerHTML = '';
    for (const w of j.workers) {
      // GPU memory where the worker has a GPU, else its JVM heap
      const mem = w.gpu_memory_total_bytes ? `GPU ${gib(w.gpu_memory_used_bytes)} / ${gib(w.gpu_memory_total_bytes)} GiB`
        : w.memory_total_bytes ? `${gib(w.memory_used_bytes)} / ${gib(w.memory_total_bytes)} GiB` : '';
      const tr = document.createElement('tr');
      tr.dataset.worker = w.worker_id;
      tr.innerHTML = `<td>${esc(w.worker_id)}<div class="muted">${esc(w.host)}</div></td><td class="state">${w.state}</td>`
        + `<td>${esc(w.execution_provider)} ${esc(w.device_name || '')}<div class="muted">pool ${esc(w.pool || 'default')}${w.max_batch > 1 ? `, batches of ${w.max_batch}` : ''}</div></td><td>${mem}</td><td>${esc((w.loaded_models || []).join(', '))}</td>`
        + `<td>${esc(w.current_task_id || '')}</td><td>${(w.images_per_second || 0).toFixed(2)}</td>`
        + `<td>${w.tasks_succeeded} ok, ${w.tasks_failed} failed</td>`
        + `<td class="${w.healthy ? 'state succeeded' : 'state failed'}">${w.healthy ? 'healthy' : esc(w.health || 'unhealthy')}</td>`;
      body.appendChild(tr);
    }
  } catch (e) {
    body.innerHTML = `<tr><td colspan="9" class="error-box">${esc(String(e))}</td></tr>`;
  }
  setTimeout(loadWorkers, 2000);
}

function gib(b) { return (b / 1073741824).toFixed(1); }

// ---- farm throughput ---------------------------------------------------------------------------

function sampleThroughput() {
  let done = 0;
  for (const j of state.jobs.values()) done += j.succeeded;
  if (state.lastDone !== null) {
    state.throughput.push(Math.max(0, done - state.lastDone));
    if (state.throughput.length > THROUGHPUT_POINTS) state.throughput.shift();
  }
  state.lastDone = done;
  drawThroughput();
}

function drawThroughput() {
  const c = document.getElementById('throughput');
  if (!c) return;
  const g = c.getContext('2d');
  const pts = state.throughput;
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...pts);
  g.strokeStyle = '#e0e0e0';
  g.beginPath();
  for (let k = 0; k <= 4; k++) { const y = 10 + (c.height - 20) * k / 4; g.moveTo(40, y); g.lineTo(c.width, y); }
  g.stroke();
  g.fillStyle = '#757575';
  g.font = '11px sans-serif';
  g.fillText(max.toFixed(0), 4, 14);
  g.fillText('0', 4, c.height - 8);
  g.strokeStyle = '#1565c0';
  g.lineWidth = 2;
  g.beginPath();
  pts.forEach((v, i) => {
    const x = 40 + (c.width - 44) * i / (THROUGHPUT_POINTS - 1);
    const y = c.height - 10 - (c.height - 20) * v / max;
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  const recent = pts.slice(-10);
  const avg = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
  const label = document.getElementById('throughput-label');
  if (label) label.textContent = `images per second, last ${pts.length} s; now ${avg.toFixed(1)} images/s`;
}

// ---- helpers ---------------------------------------------------------------------------------

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}

function showError(msg) {
  console.warn(msg);
}

// ---- sign-in -------------------------------------------------------------------------------
// The API needs a tenant's token. The page never keeps it: POST /api/v1/session turns it into an
// HttpOnly, SameSite=Strict cookie that fetches, <img> requests and the websocket then carry.
// A link ending in #token=... (what `farm up` prints) signs in at once; the fragment is never
// sent to a server, and is removed from the address bar straight away.

async function signIn(token) {
  const r = await fetch('/api/v1/session', {method: 'POST', headers: {'authorization': 'Bearer ' + token.trim()}});
  return r.ok;
}

async function whoami() {
  const r = await fetch('/api/v1/whoami');
  if (r.status === 401) return null;
  if (!r.ok) return {tenant: 'default', role: 'tenant'};   // a coordinator serving the page without the API
  return r.json();
}

function showSignIn(message) {
  state.signedIn = false;
  document.getElementById('who').textContent = '';
  document.getElementById('signout').hidden = true;
  setConn(false);
  document.getElementById('main').innerHTML = '<form id="signin" class="panel"><h2>Sign in</h2>'
    + '<p>Paste your API token (an operator makes one with <code>farm tokens create --tenant NAME</code>).</p>'
    + '<input id="token" type="password" autocomplete="off" size="70" placeholder="farm_...">'
    + ' <button id="signin-button" type="submit">Sign in</button>'
    + `<p id="signin-error" class="error-box" ${message ? '' : 'hidden'}>${esc(message || '')}</p></form>`;
  document.getElementById('signin').onsubmit = async (e) => {
    e.preventDefault();
    if (await signIn(document.getElementById('token').value)) {
      start();
    } else {
      showSignIn('That token was refused: it is unknown, revoked or mistyped.');
    }
  };
}

async function start() {
  const who = await whoami();
  if (!who) { showSignIn(); return; }
  state.signedIn = true;
  document.getElementById('who').textContent = `${who.tenant} (${who.role})`;
  document.getElementById('signout').hidden = false;
  onRoute();
  if (!socket) connect();
}

async function boot() {
  const m = location.hash.match(/^#token=(.+)$/);
  if (m) {
    history.replaceState(null, '', location.pathname + location.search);
    await signIn(decodeURIComponent(m[1]));
  }
  document.getElementById('signout').onclick = async (e) => {
    e.preventDefault();
    await fetch('/api/v1/session', {method: 'DELETE'});
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
    showSignIn();
  };
  await start();
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#token=')) boot();
  else if (state.signedIn) onRoute();
});
setInterval(sampleThroughput, 1000);
boot();
