#include "report/page_assets.hpp"

namespace keel {

const char* const kReportCss = R"CSS(
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1160px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 8px 0; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.chart { position: relative; height: 260px; border: 1px solid #eee; border-radius: 4px; padding: 6px; }
.chart h3 { font-size: 13px; font-weight: 600; margin: 0 0 2px; }
.chart .area { position: relative; height: 232px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #eee; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; color: #555; }
.note { color: #8a5a00; }
#graph svg { max-width: 100%; height: auto; }
#samples { display: flex; flex-wrap: wrap; gap: 12px; }
#samples img { image-rendering: pixelated; max-width: 220px; border: 1px solid #ddd; }
.scroll { max-height: 360px; overflow: auto; }
)CSS";

const char* const kReportBody = R"HTML(
<section id="facts-section"><h2>Run</h2><table id="facts"></table></section>
<section id="epochs-section" hidden><h2>Per epoch</h2><div class="grid">
<div class="chart" hidden><h3>Loss per epoch</h3><div class="area"><canvas id="chart-epoch-loss"></canvas></div></div>
<div class="chart" hidden><h3 id="metric-title">Accuracy per epoch</h3><div class="area"><canvas id="chart-epoch-metric"></canvas></div></div>
</div></section>
<section id="steps-section" hidden><h2>Per step</h2><p id="steps-note"></p><div class="grid">
<div class="chart" hidden><h3>Training loss per step, with guard events</h3><div class="area"><canvas id="chart-step-loss"></canvas></div></div>
<div class="chart" hidden><h3>Learning rate per step</h3><div class="area"><canvas id="chart-lr"></canvas></div></div>
<div class="chart" hidden><h3>Gradient norm per step (before clipping)</h3><div class="area"><canvas id="chart-grad-norm"></canvas></div></div>
<div class="chart" hidden><h3>Guard events: score (dot) against threshold (dash)</h3><div class="area"><canvas id="chart-guards"></canvas></div></div>
</div></section>
<section id="events-section" hidden><h2>Guard events</h2><p id="events-note"></p>
<div class="scroll"><table id="events"><thead><tr><th>step</th><th>guard</th><th>check</th><th>action</th><th>score</th><th>threshold</th><th>rows or parameters</th></tr></thead><tbody></tbody></table></div></section>
<section id="profile-section" hidden><h2>Time per node</h2><p id="profile-note"></p>
<div class="chart" hidden id="profile-chart"><h3>Forward and backward time per node (ms, whole run)</h3><div class="area"><canvas id="chart-profile"></canvas></div></div></section>
)HTML";

const char* const kErrorCollectorJs = R"JS(
(function () {
  var errors = [];
  function note(message) {
    errors.push(String(message));
    document.body.setAttribute('data-errors', errors.join(' | '));
  }
  window.addEventListener('error', function (e) {
    note((e.message || 'error') + (e.lineno ? ' (line ' + e.lineno + ')' : ''));
  });
  window.addEventListener('unhandledrejection', function (e) { note('unhandled rejection: ' + e.reason); });
  var original = console.error;
  console.error = function () {
    note(Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
)JS";

const char* const kReportJs = R"JS(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('run-data').textContent);
  var facts = data.facts || {};
  var charts = [];
  var colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

  function $(id) { return document.getElementById(id); }
  function text(tag, content, cls) {
    var e = document.createElement(tag);
    e.textContent = content;
    if (cls) e.className = cls;
    return e;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return '';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(digits === undefined ? 4 : digits);
  }
  function points(xs, ys) {
    var out = [];
    for (var i = 0; i < xs.length; ++i) out.push({x: xs[i], y: ys[i]});
    return out;
  }
  function line(label, pts, color, extra) {
    var d = {label: label, data: pts, borderColor: color, backgroundColor: color, borderWidth: 1.5,
             pointRadius: pts.length > 60 ? 0 : 2, spanGaps: false, tension: 0};
    for (var k in extra || {}) d[k] = extra[k];
    return d;
  }
  var lastStep = Math.max(facts.total_steps || 0, data.steps.loss.x.length ? data.steps.loss.x[data.steps.loss.x.length - 1] + 1 : 0);
  function stepAxis() { return {type: 'linear', min: 0, max: lastStep || undefined, title: {display: true, text: 'step'}}; }
  function make(id, type, datasets, scales, extra) {
    var canvas = $(id);
    canvas.closest('.chart').hidden = false;
    canvas.closest('section').hidden = false;
    var options = {animation: false, responsive: true, maintainAspectRatio: false, scales: scales,
                   interaction: {mode: 'nearest', intersect: false},
                   plugins: {legend: {labels: {boxWidth: 12}}}};
    for (var k in extra || {}) options[k] = extra[k];
    charts.push(new Chart(canvas, {type: type, data: {datasets: datasets}, options: options}));
  }

  // The run's facts.
  function fact(name, value) {
    if (value === undefined || value === null || value === '') return;
    var tr = document.createElement('tr');
    tr.appendChild(text('th', name));
    tr.appendChild(text('td', value));
    $('facts').appendChild(tr);
  }
  var mib = function (b) { return b ? (b / 1048576).toFixed(2) + ' MiB' : ''; };
  fact('graph', facts.graph_file ? facts.graph_file + (facts.graph_name ? ' (' + facts.graph_name + ')' : '') : '');
  fact('status', facts.status);
  fact('started', facts.started);
  if (facts.steps !== undefined)
    fact('steps', facts.steps + ' of ' + facts.total_steps + (facts.seconds ? ' in ' + fmt(facts.seconds, 2) + ' s (' +
         Math.round((facts.steps - (facts.first_step || 0)) / facts.seconds) + ' steps/s)' : ''));
  fact('epochs', facts.epochs !== undefined ? facts.epochs + ' (' + facts.batches_per_epoch + ' batches of ' + facts.batch + ')' : '');
  fact('seed', facts.seed);
  fact('threads', facts.threads !== undefined ? facts.threads + ' (inter-op ' + facts.inter_op + ')' : '');
  fact('keel', facts.keel_version);
  fact('loss', facts.loss ? facts.loss + (facts.metric ? ', metric ' + facts.metric : '') : '');
  fact('optimizer', facts.optimizer ? facts.optimizer + ', lr ' + facts.lr + (facts.clip_grad_norm ? ', clip_grad_norm ' + facts.clip_grad_norm : '') : '');
  fact('checkpoint', facts.checkpoint === undefined ? '' : facts.checkpoint ?
       facts.checkpoint + (facts.sealed ? ' (sealed: encrypted)' : ' (plain safetensors, not encrypted)') + (facts.signed ? ', signed' : ', not signed') : 'none');
  fact('peak tensor memory', mib(facts.peak_bytes));
  fact('guard events', facts.guard_events !== undefined ? String(facts.guard_events) : '');
  fact('profile', facts.profile);
  fact('resumed from', facts.resumed_from ? facts.resumed_from + ' (step ' + facts.first_step + ')' : '');
  (facts.plugins || []).forEach(function (p) { fact('plugin ' + p.name, p.version + '  ' + p.file); });
  if (!data.facts) fact('facts', 'this folder has no run.json (written by keel 1.2 and later)');

  var notes = data.notes.slice();
  var epochs = data.epochs;
  var last = epochs.length ? epochs[epochs.length - 1] : null;
  var summary = [];
  if (last) summary.push(data.epoch_count + ' epochs');
  if (facts.steps !== undefined) summary.push(facts.steps + ' steps');
  if (last) {
    ['accuracy', 'r2'].forEach(function (m) {
      if (last['holdout_' + m] !== undefined && last['holdout_' + m] !== null)
        summary.push('hold-out ' + (m === 'r2' ? 'R\u00b2 ' + fmt(last['holdout_' + m]) : m + ' ' + (100 * last['holdout_' + m]).toFixed(2) + '%'));
    });
  }
  summary.push(data.event_count + ' guard events');
  $('summary').textContent = summary.join(' \u00b7 ');

  if (epochs.length < data.epoch_count)
    notes.push(data.epoch_count + ' epochs, drawn with ' + epochs.length + ' of them (the extremes of the training loss kept); every epoch is in the metrics file');
  // Per epoch: loss, then accuracy or R^2, train against hold-out.
  if (epochs.length) {
    var ex = {type: 'linear', title: {display: true, text: 'epoch'}, ticks: {precision: 0}};
    function series(key) {
      var pts = epochs.map(function (e) { return {x: e.epoch, y: e[key] === undefined ? null : e[key]}; });
      return pts.some(function (p) { return p.y !== null; }) ? pts : null;
    }
    var loss = [];
    if (series('train_loss')) loss.push(line('train (batch loss)', series('train_loss'), colors[0]));
    if (series('holdout_loss')) loss.push(line('hold-out', series('holdout_loss'), colors[1]));
    if (loss.length) make('chart-epoch-loss', 'line', loss, {x: ex, y: {title: {display: true, text: 'loss'}}});
    var metric = series('train_accuracy') || series('holdout_accuracy') ? 'accuracy' : series('train_r2') || series('holdout_r2') ? 'r2' : '';
    if (metric) {
      $('metric-title').textContent = (metric === 'r2' ? 'R\u00b2' : 'Accuracy') + ' per epoch';
      var m = [];
      if (series('train_' + metric)) m.push(line('train', series('train_' + metric), colors[0]));
      if (series('holdout_' + metric)) m.push(line('hold-out', series('holdout_' + metric), colors[1]));
      make('chart-epoch-metric', 'line', m, {x: ex, y: {title: {display: true, text: metric === 'r2' ? 'R\u00b2' : 'accuracy'}}});
    }
  }

  // Per step, on one step axis: loss with guard events, learning rate, gradient norm.
  var st = data.steps;
  // An event whose step's loss is not finite (a NaN batch) sits at the top of the chart.
  var top = 0;
  data.steps.loss.y.forEach(function (y) { if (y !== null && y > top) top = y; });
  var guardPoints = [];
  data.events.forEach(function (e, i) {
    guardPoints.push({x: e.step, y: data.event_loss[i] !== null && isFinite(data.event_loss[i]) ? data.event_loss[i] : top});
  });
  if (st.count) {
    if (st.loss.x.length < st.count)
      $('steps-note').textContent = st.count + ' steps, drawn with ' + st.loss.x.length +
        ' points per series (each bucket keeps its smallest and largest value, and any NaN); every step is in steps.csv.';
    var lossSets = [line('training loss (batch)', points(st.loss.x, st.loss.y), colors[0])];
    if (guardPoints.length)
      lossSets.push({label: 'guard events', type: 'scatter', data: guardPoints, pointStyle: 'triangle',
                     pointRadius: 6, borderColor: '#d62728', backgroundColor: '#d62728'});
    make('chart-step-loss', 'line', lossSets, {x: stepAxis(), y: {title: {display: true, text: 'loss'}}});
    $('chart-step-loss').setAttribute('data-guard-points', String(guardPoints.length));
    var lrMax = 0;
    st.lr.y.forEach(function (y) { if (y !== null && y > lrMax) lrMax = y; });
    make('chart-lr', 'line', [line('learning rate', points(st.lr.x, st.lr.y), colors[2])],
         {x: stepAxis(), y: {title: {display: true, text: 'lr'}, suggestedMin: 0, suggestedMax: lrMax * 1.1}});
    var norm = [line('gradient norm', points(st.grad_norm.x, st.grad_norm.y), colors[4])];
    if (facts.clip_grad_norm > 0)
      norm.push(line('clip_grad_norm', [{x: 0, y: facts.clip_grad_norm}, {x: lastStep, y: facts.clip_grad_norm}],
                     colors[3], {borderDash: [6, 4], pointRadius: 0}));
    make('chart-grad-norm', 'line', norm, {x: stepAxis(), y: {title: {display: true, text: 'L2 norm'}}});
  } else if (epochs.length) {
    notes.push('no per-step data (steps.csv): this run was made before keel recorded it');
  }

  // Guard events: which guard, what it did, score against threshold, what it named.
  if (data.event_count) {
    $('events-section').hidden = false;
    if (data.events.length < data.event_count)
      $('events-note').textContent = 'showing the first ' + data.events.length + ' of ' + data.event_count +
        ' events; all are in anomalies.jsonl.';
    var byGuard = {};
    var positive = true, low = Infinity, high = 0;
    var body = $('events').querySelector('tbody');
    data.events.forEach(function (e) {
      var key = e.node + ' (' + e.check + ', ' + e.action + ')';
      var g = byGuard[key] = byGuard[key] || {score: [], threshold: []};
      [[g.score, e.score], [g.threshold, e.threshold]].forEach(function (p) {
        var v = typeof p[1] === 'number' && isFinite(p[1]) ? p[1] : null;
        p[0].push({x: e.step, y: v});
        if (v !== null) { if (v <= 0) positive = false; else { low = Math.min(low, v); high = Math.max(high, v); } }
      });
      var what = '';
      if (e.rows && e.rows.length) what = 'rows ' + e.rows.slice(0, 12).join(', ') + (e.rows.length > 12 ? ', \u2026 (' + e.rows.length + ')' : '');
      if (e.params && e.params.length) what = e.params.map(function (p) { return p.name + ' ' + fmt(p.norm); }).join(', ');
      var tr = document.createElement('tr');
      tr.className = 'guard-event';
      [e.step, e.node, e.check, e.action, fmt(e.score), fmt(e.threshold), what].forEach(function (v) {
        tr.appendChild(text('td', String(v)));
      });
      body.appendChild(tr);
    });
    var sets = [];
    Object.keys(byGuard).forEach(function (k, i) {
      var c = colors[(i + 3) % colors.length];
      sets.push({label: k + ' score', data: byGuard[k].score, pointRadius: 4, borderColor: c, backgroundColor: c});
      sets.push({label: k + ' threshold', data: byGuard[k].threshold, pointStyle: 'dash', pointRadius: 9,
                 borderWidth: 2, borderColor: c, backgroundColor: c});
    });
    // Scores and thresholds of different guards span decades: a log axis when it can be one.
    var logAxis = positive && high > 0 && high / low > 100;
    make('chart-guards', 'scatter', sets, {x: stepAxis(), y: {type: logAxis ? 'logarithmic' : 'linear',
         title: {display: true, text: 'score and threshold'}}});
  }

  // Time per node from the --profile trace.
  if (data.node_times.length) {
    var nt = data.node_times.slice().sort(function (a, b) { return (b.forward_ms + b.backward_ms) - (a.forward_ms + a.backward_ms); });
    $('profile-chart').style.height = Math.max(260, 24 * nt.length + 60) + 'px';
    $('profile-chart').querySelector('.area').style.height = Math.max(232, 24 * nt.length + 32) + 'px';
    var labels = nt.map(function (t) { return t.node; });
    var bars = function (label, key, color) {
      return {label: label, data: nt.map(function (t, i) { return {x: t[key], y: labels[i]}; }), backgroundColor: color};
    };
    make('chart-profile', 'bar', [bars('forward', 'forward_ms', colors[0]), bars('backward', 'backward_ms', colors[1])],
         {x: {stacked: true, title: {display: true, text: 'ms'}}, y: {type: 'category', labels: labels, stacked: true}},
         {indexAxis: 'y'});
  } else {
    $('profile-section').hidden = false;
    $('profile-note').textContent = facts.profile ? 'the profile has no node spans' :
      'run with --profile TRACE.json to see time per node here; peak tensor memory is in the table above.';
  }

  notes.forEach(function (n) { $('notes').appendChild(text('li', n, 'note')); });

  // What a headless browser reads back: charts with data and drawn pixels.
  function verify() {
    var drawn = 0;
    charts.forEach(function (c) {
      var canvas = c.canvas;
      var pixels = 0;
      if (canvas.width && canvas.height) {
        var img = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (var i = 3; i < img.length; i += 4) if (img[i] !== 0) ++pixels;
      }
      var n = 0;
      c.data.datasets.forEach(function (d) { n += d.data.length; });
      canvas.setAttribute('data-points', String(n));
      canvas.setAttribute('data-drawn-pixels', String(pixels));
      if (n > 0 && pixels > 0) ++drawn;
    });
    document.body.setAttribute('data-charts-expected', String(charts.length));
    document.body.setAttribute('data-charts-rendered', String(drawn));
  }
  verify();
  setTimeout(verify, 100);
})();
)JS";

}  // namespace keel
