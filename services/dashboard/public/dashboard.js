// The operations page: plain DOM, no build step. Every number comes from the JSON endpoints and the
// server-sent events at /api/events; nothing is computed here but formatting.
'use strict';

const $ = (selector) => document.querySelector(selector);
const charts = new Map();
let lastLag = null;
let dlqSummaries = new Map();

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const number = (value) => (value === null || value === undefined ? '–' : Math.round(value).toLocaleString('en'));

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '–');

function trend(slope) {
  if (slope === null || slope === undefined) return '–';
  const arrow = slope > 0.05 ? '↑' : slope < -0.05 ? '↓' : '→';
  return `${arrow} ${slope.toFixed(1)}/s`;
}

function stat(label, value, testId) {
  return el('div', { class: 'stat' }, el('div', { class: 'value', 'data-testid': testId }, value), el('div', { class: 'label' }, label));
}

function tbody(table, rows) {
  const body = $(table).querySelector('tbody');
  body.replaceChildren(...rows);
}

// ---- consumer groups ------------------------------------------------------------------------

function groupCard(group) {
  let card = document.querySelector(`.card[data-group="${CSS.escape(group.groupId)}"]`);
  if (!card) {
    card = el('div', { class: 'card', 'data-group': group.groupId });
    card.append(el('div', { class: 'card-head' }), el('div', { class: 'stats' }), el('div', { class: 'chart' }), el('details', {}, el('summary', {}, 'partitions'), el('table', { class: 'partitions' })));
    $('#groups').append(card);
    loadChart(group.groupId, card.querySelector('.chart'));
  }
  return card;
}

function renderGroup(group) {
  const card = groupCard(group);
  card.querySelector('.card-head').replaceChildren(
    el('h3', {}, group.groupId, group.skewed ? el('span', { class: 'skew', title: "a partition's lag is over 3× its topic's average" }, 'skew') : ''),
    el('span', { class: 'muted small' }, `${group.state} · ${group.members} member${group.members === 1 ? '' : 's'}`),
    el('span', { class: `badge status-${group.status}`, 'data-testid': 'status' }, group.status),
  );
  card.querySelector('.stats').replaceChildren(
    stat('lag (messages)', number(group.lag), 'lag'),
    stat('time lag', (group.timeLagAtLeast ? '≥ ' : '') + duration(group.timeLagMs), 'time-lag'),
    stat('trend (60 s)', trend(group.slopePerSecond), 'trend'),
    stat('drain ETA', group.drainEtaSeconds === null ? '–' : duration(group.drainEtaSeconds * 1000), 'eta'),
    stat('partitions', group.partitions.length, 'partitions'),
  );
  const head = el('tr', {}, ...['topic', 'p', 'committed', 'end', 'lag', 'time lag', 'status'].map((h) => el('th', {}, h)));
  const rows = group.partitions.map((p) =>
    el('tr', {},
      el('td', {}, p.topic),
      el('td', {}, p.partition),
      el('td', {}, number(p.committed)),
      el('td', {}, number(p.end)),
      el('td', {}, number(p.lag), p.skewed ? el('span', { class: 'skew' }, 'skew') : ''),
      el('td', {}, (p.timeLagAtLeast ? '≥ ' : '') + duration(p.timeLagMs)),
      el('td', {}, el('span', { class: `badge status-${p.status}` }, p.status))));
  card.querySelector('table.partitions').replaceChildren(head, ...rows);
  const chart = charts.get(group.groupId);
  if (chart && lastLag?.polledAt) {
    const [times, lag, age] = chart.data;
    const at = Date.parse(lastLag.polledAt) / 1000;
    if (times.length === 0 || times[times.length - 1] < at) {
      times.push(at);
      lag.push(group.lag);
      age.push(group.timeLagMs === null ? null : group.timeLagMs / 1000);
      chart.setData([times, lag, age]);
    }
  }
}

function chartOptions(width, series) {
  return {
    width,
    height: 140,
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [
      { stroke: '#8b98a5', grid: { stroke: '#2a3542' } },
      { stroke: '#8b98a5', grid: { stroke: '#2a3542' }, size: 60 },
      ...(series.length > 2 ? [{ scale: 's', side: 1, stroke: '#8b98a5', grid: { show: false }, size: 50 }] : []),
    ],
    series,
  };
}

async function loadChart(groupId, target) {
  const response = await fetch(`/api/lag/${encodeURIComponent(groupId)}/chart`);
  const data = response.ok ? await response.json() : { times: [], lag: [], timeLagSeconds: [] };
  const width = Math.max(300, target.clientWidth || 400);
  const chart = new window.uPlot(
    chartOptions(width, [{}, { label: 'lag', stroke: '#58a6ff', width: 1.5, fill: 'rgba(88,166,255,0.12)' }, { label: 'time lag (s)', scale: 's', stroke: '#d29922', width: 1 }]),
    [data.times, data.lag, data.timeLagSeconds],
    target,
  );
  charts.set(groupId, chart);
  target.setAttribute('data-testid', 'lag-chart');
}

// ---- retry tiers and DLQs -------------------------------------------------------------------

function renderRetry(snapshot) {
  const rows = [];
  for (const group of snapshot.groups) {
    const tiers = new Map();
    for (const p of group.partitions.filter((q) => q.tier > 0)) {
      const tier = tiers.get(p.tier) || { waiting: 0, oldest: null, delayMs: p.delayMs };
      tier.waiting += p.lag || 0;
      if ((p.lag || 0) > 0 && p.timeLagMs !== null && (tier.oldest === null || p.timeLagMs > tier.oldest)) tier.oldest = p.timeLagMs;
      tiers.set(p.tier, tier);
    }
    for (const [n, tier] of [...tiers].sort((a, b) => a[0] - b[0])) {
      if (tier.waiting === 0) continue;
      const due = tier.oldest === null ? '–' : time(new Date(Date.parse(snapshot.polledAt) - tier.oldest + tier.delayMs).toISOString());
      rows.push(el('tr', {}, el('td', {}, group.groupId), el('td', {}, n), el('td', {}, duration(tier.delayMs)), el('td', {}, number(tier.waiting)), el('td', {}, duration(tier.oldest)), el('td', {}, due)));
    }
  }
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no message waits in a retry tier')));
  tbody('#retry-table', rows);
}

function renderDlqs(snapshot) {
  const rows = snapshot.dlqs.map((dlq) => {
    const summary = dlqSummaries.get(dlq.dlqTopic);
    const codes = summary ? summary.errorCodes.slice(0, 3).map((c) => `${c.errorCode} ×${c.count}`).join(', ') || '–' : '…';
    return el('tr', { 'data-dlq': dlq.dlqTopic },
      el('td', {}, dlq.groupId), el('td', {}, dlq.source),
      el('td', { 'data-testid': 'dlq-count' }, number(dlq.count)),
      el('td', {}, dlq.perMinute === null ? '–' : dlq.perMinute.toFixed(1)),
      el('td', {}, codes));
  });
  tbody('#dlq-table', rows);
  const select = $('#browse-group');
  const groups = snapshot.groups.map((g) => g.groupId);
  if (select.options.length !== groups.length) {
    const chosen = select.value;
    select.replaceChildren(...groups.map((g) => el('option', { value: g }, g)));
    if (groups.includes(chosen)) select.value = chosen;
  }
}

async function refreshDlqSummaries() {
  const response = await fetch('/api/dlq/summary').catch(() => null);
  if (!response || !response.ok) return;
  const body = await response.json();
  dlqSummaries = new Map(body.summaries.map((s) => [s.dlqTopic, s]));
  if (lastLag) renderDlqs(lastLag);
}

let browsed = [];

async function browse(event) {
  if (event) event.preventDefault();
  const form = new FormData($('#browse-form'));
  const query = new URLSearchParams();
  for (const [name, value] of form) {
    if (value === '') continue;
    query.set(name, name === 'from' || name === 'to' ? new Date(value).toISOString() : value);
  }
  $('#browse-result').textContent = 'reading…';
  const response = await fetch(`/api/dlq/messages?${query}`);
  const body = await response.json();
  if (!response.ok) {
    $('#browse-result').textContent = body.message;
    return;
  }
  browsed = body.messages;
  $('#browse-result').textContent = `${body.matched} matching, ${body.messages.length} shown (personal data redacted)`;
  tbody('#dlq-messages', browsed.map((m, i) =>
    el('tr', { 'data-testid': 'dead-letter' },
      el('td', {}, el('input', { type: 'checkbox', 'data-index': i })),
      el('td', {}, time(m.dlqTimestamp)),
      el('td', {}, `${m.sourceTopic} · ${m.partition} · ${m.offset}`),
      el('td', {}, m.key ?? '–'),
      el('td', {}, m.errorCode ?? '–'),
      el('td', {}, `${m.attempts} / ${m.replays}`),
      el('td', {},
        el('div', {}, m.errorMessage ?? ''),
        el('details', {}, el('summary', {}, 'value and headers'),
          el('pre', {}, JSON.stringify(m.value ?? m.undecodable, null, 2)),
          el('pre', {}, Object.entries(m.headers).filter(([name]) => name !== 'failure-error-stack').map(([n, v]) => `${n}: ${v}`).join('\n')))))));
  updateReplayButtons();
}

function selected() {
  return [...document.querySelectorAll('#dlq-messages input[type=checkbox]:checked')].map((box) => browsed[Number(box.getAttribute('data-index'))]);
}

function updateReplayButtons() {
  const token = $('#admin-token').value !== '';
  $('#replay-selected').disabled = !token || selected().length === 0;
  $('#replay-all').disabled = !token || !$('#browse-group').value;
}

async function replayCall(body) {
  const response = await fetch('/api/dlq/replay', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${$('#admin-token').value}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

function describePlan(result) {
  const lines = result.plans.map((plan) => {
    const counts = {};
    for (const item of plan.items) counts[item.decision] = (counts[item.decision] || 0) + 1;
    return `${plan.dlqTopic} → ${plan.targetTopic}: ${Object.entries(counts).map(([d, n]) => `${n} ${d}`).join(', ')}`;
  });
  return lines.join('\n') || 'nothing matches';
}

/** Dry run first, shown in a dialog; bulk needs the group typed; then the real replay. */
async function startReplay(all) {
  const group = $('#browse-group').value;
  const topic = $('#browse-form input[name=topic]').value || undefined;
  const base = all ? { group, topic, all: true } : { group, topic, messages: selected().map((m) => ({ topic: m.dlqTopic, partition: m.partition, offset: m.offset })) };
  const bulk = all || base.messages.length > 1;
  const dry = await replayCall({ ...base, dryRun: true });
  if (dry.status !== 200) {
    $('#replay-result').textContent = `${dry.status}: ${dry.body.message}`;
    $('#replay-result').className = 'error';
    return;
  }
  $('#replay-plan').textContent = `Dry run:\n${describePlan(dry.body)}`;
  $('#replay-typed-hint').textContent = bulk ? `Type the group id (${group}) to replay these messages:` : 'A single message: no typing needed.';
  $('#replay-typed').value = '';
  $('#replay-typed').hidden = !bulk;
  const dialog = $('#replay-dialog');
  dialog.showModal();
  const confirmed = await new Promise((resolve) => {
    $('#replay-cancel').onclick = () => { dialog.close(); resolve(false); };
    $('#replay-confirm-form').onsubmit = () => resolve(true);
  });
  if (!confirmed) return;
  const real = await replayCall({ ...base, dryRun: false, ...(bulk ? { confirm: $('#replay-typed').value } : {}) });
  $('#replay-result').className = real.status === 200 ? 'muted' : 'error';
  $('#replay-result').textContent = real.status === 200 ? `replayed ${real.body.sent}, held back ${real.body.refused + real.body.replayedBefore}` : `${real.status}: ${real.body.message}`;
  $('#replay-result').setAttribute('data-testid', 'replay-result');
}

// ---- panels -------------------------------------------------------------------------------

function unavailable(target, panel) {
  $(target).replaceChildren(el('span', { class: 'muted' }, `not available: ${panel.reason}`));
}

function histogramBars(histogram, unit) {
  let previous = 0;
  const rows = histogram.buckets.map((b) => {
    const count = b.count - previous;
    previous = b.count;
    return { le: b.le, count };
  });
  const max = Math.max(1, ...rows.map((r) => r.count));
  return el('div', { class: 'bars' }, ...rows.flatMap((r) => [
    el('span', { class: 'muted' }, `≤ ${r.le}${r.le === '+Inf' ? '' : unit}`),
    el('div', {}, el('div', { class: 'bar', style: `width:${(100 * r.count) / max}%` })),
    el('span', {}, number(r.count)),
  ]));
}

let ordersChart = null;

function renderPanels(panels) {
  const parked = panels.parkedKeys.available ? panels.parkedKeys.rows.map((r) => el('tr', {}, el('td', {}, r.group), el('td', {}, number(r.messages)), el('td', {}, number(r.keys)), el('td', {}, time(r.oldest)))) : [];
  tbody('#parked-table', parked.length > 0 ? parked : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, panels.parkedKeys.available ? 'no parked key' : panels.parkedKeys.reason))]);

  if (panels.batchIngestion.available) {
    const b = panels.batchIngestion.rows;
    $('#batch').replaceChildren(
      el('div', { class: 'stats' }, stat('rows/s', b.rowsPerSecond === null ? '–' : number(b.rowsPerSecond)), stat('rows written', number(b.rowsWritten)),
        stat('rejected (retried / DLQ)', `${number(b.rowsRejected.retried ?? 0)} / ${number(b.rowsRejected.dead_lettered ?? 0)}`),
        stat('outage pauses', `${b.paused ? 'paused now · ' : ''}${duration(b.backpressureSeconds * 1000)}`), stat('flushes', number(b.flushRows.count)),
        stat('flush reasons', Object.entries(b.flushReasons).map(([reason, n]) => `${reason} ${number(n)}`).join(' · ') || '–')),
      el('div', { class: 'columns' }, el('div', {}, el('h3', {}, 'flush size (rows)'), histogramBars(b.flushRows, '')), el('div', {}, el('h3', {}, 'flush latency'), histogramBars(b.flushSeconds, ' s'))));
  } else unavailable('#batch', panels.batchIngestion);

  if (panels.orders.available) {
    const o = panels.orders.rows;
    $('#orders').replaceChildren(el('div', { class: 'stats' }, ...Object.entries(o.byStatus).map(([s, n]) => stat(s, number(n), `orders-${s}`))));
    const colours = { PENDING: '#8b98a5', CONFIRMED: '#3fb950', REJECTED: '#f85149', CANCELLING: '#d29922', CANCELLED: '#a371f7' };
    const statuses = Object.keys(o.chart.series);
    const data = [o.chart.times, ...statuses.map((s) => o.chart.series[s])];
    if (!ordersChart && window.uPlot) {
      const target = $('#orders-chart');
      ordersChart = new window.uPlot(chartOptions(Math.max(300, target.clientWidth || 600), [{}, ...statuses.map((s) => ({ label: s, stroke: colours[s] || '#58a6ff', width: 1.5 }))]), data, target);
    } else if (ordersChart) ordersChart.setData(data);
  } else unavailable('#orders', panels.orders);

  if (panels.exports.available) {
    const rows = panels.exports.rows.map((x) => el('tr', {}, el('td', {}, x.id.slice(0, 8)), el('td', {}, x.state),
      el('td', {}, el('progress', { max: x.total ?? 1, value: x.total ? x.done : 0 })), el('td', {}, x.total ? `${Math.floor((100 * x.done) / x.total)} %` : number(x.done)),
      el('td', {}, x.rowsPerSecond === null ? '–' : `${number(x.rowsPerSecond)} rows/s`)));
    $('#exports').replaceChildren(rows.length ? el('table', {}, ...rows) : el('span', { class: 'muted' }, 'no export running or finished in the last 10 minutes'));
  } else unavailable('#exports', panels.exports);

  if (panels.scheduledJobs.available) {
    const rows = panels.scheduledJobs.rows.map((j) => el('tr', {}, el('td', {}, j.jobType), el('td', {}, `${number(j.upcoming)} upcoming`), el('td', { class: j.overdue ? 'error' : '' }, `${number(j.overdue)} overdue`), el('td', {}, `next ${time(j.nextDueAt)}`)));
    $('#jobs').replaceChildren(rows.length ? el('table', {}, ...rows) : el('span', { class: 'muted' }, 'no pending job'));
  } else unavailable('#jobs', panels.scheduledJobs);

  if (panels.webhooks.available) {
    const rows = panels.webhooks.rows.map((w) => el('tr', {}, el('td', {}, w.id), el('td', { class: w.disabled || w.failingSince ? 'error' : '' }, w.disabled ? 'disabled' : w.failingSince ? `failing since ${time(w.failingSince)}` : 'healthy'),
      el('td', {}, `${number(w.pending)} pending`), el('td', {}, `next retry ${time(w.nextRetryAt)}`)));
    $('#webhooks').replaceChildren(rows.length ? el('table', {}, ...rows) : el('span', { class: 'muted' }, 'no endpoint'));
  } else unavailable('#webhooks', panels.webhooks);

  if (panels.requestReply.available) {
    const r = panels.requestReply.rows;
    $('#request-reply').replaceChildren(el('div', { class: 'stats' }, stat('in flight', number(r.inFlight)), stat('late', number(r.late)), stat('timed out', number(r.timedOut))));
  } else unavailable('#request-reply', panels.requestReply);
}

// ---- live updates -------------------------------------------------------------------------

function onLag(snapshot) {
  lastLag = snapshot;
  $('#poll-state').textContent = snapshot.error
    ? `poll failed: ${snapshot.error}`
    : `polled ${snapshot.polledAt ? new Date(snapshot.polledAt).toLocaleTimeString() : '–'} · every ${snapshot.pollMs / 1000} s · poll took ${snapshot.pollDurationMs ?? '–'} ms`;
  for (const group of snapshot.groups) renderGroup(group);
  renderRetry(snapshot);
  renderDlqs(snapshot);
  document.body.setAttribute('data-polls', String(snapshot.polls));
}

function connect() {
  const source = new EventSource('/api/events');
  source.addEventListener('lag', (event) => onLag(JSON.parse(event.data)));
  source.addEventListener('panels', (event) => renderPanels(JSON.parse(event.data)));
  source.onerror = () => ($('#poll-state').textContent = 'reconnecting…');
}

window.addEventListener('DOMContentLoaded', () => {
  $('#browse-form').addEventListener('submit', browse);
  $('#admin-token').addEventListener('input', updateReplayButtons);
  $('#browse-group').addEventListener('change', updateReplayButtons);
  $('#dlq-messages').addEventListener('change', updateReplayButtons);
  $('#replay-selected').addEventListener('click', () => startReplay(false));
  $('#replay-all').addEventListener('click', () => startReplay(true));
  connect();
  refreshDlqSummaries();
  setInterval(refreshDlqSummaries, 30_000);
});
