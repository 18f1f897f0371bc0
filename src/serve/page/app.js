/* app.js: replguard's status page. It reads api/v1/state every poll
 * interval and api/v1/history for the clusters that are open, and draws
 * them with DOM calls only: every string from the server goes in as
 * text (textContent, createTextNode), never as markup, so a node named
 * "<img onerror=...>" shows as those characters. URLs are relative, so
 * the page works under any path prefix a reverse proxy adds. The API
 * token lives in this tab's sessionStorage and goes out as a Bearer
 * header (no cookie: another site cannot make the browser send it). */
'use strict';

(function () {
  var TOKEN_KEY = 'replguard.token';
  var open = new Set();      /* clusters the reader opened */
  var history = new Map();   /* cluster -> {doc, at} */
  var last = null;           /* the last state document */
  var timer = null;

  /* el: an element with attributes and children (strings become text
   * nodes; null children are skipped). */
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false)
        e.setAttribute(k, attrs[k] === true ? '' : String(attrs[k]));
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return e;
  }

  function byId(id) { return document.getElementById(id); }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  function fmtLag(s) {
    if (s === null || s === undefined) return 'unknown';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return s.toFixed(1) + ' s';
    return (s / 60).toFixed(1) + ' min';
  }

  function fmtAgo(t, now) {
    if (t === null || t === undefined) return 'never';
    var d = Math.max(0, now - t);
    if (d < 90) return Math.round(d) + ' s ago';
    if (d < 5400) return Math.round(d / 60) + ' min ago';
    return new Date(t * 1000).toLocaleString();
  }

  function fmtTime(t) {
    return new Date(t * 1000).toLocaleTimeString([], {hour12: false});
  }

  function healthCell(h) {
    var word = h || 'unknown';
    return el('td', {'class': 'health h-' + word}, [word]);
  }

  /* --- banners ----------------------------------------------------------- */

  function banner(kind, title, text) {
    return el('div', {'class': 'banner ' + kind, 'data-banner': title},
              [el('strong', {}, [title]), text]);
  }

  function banners(doc) {
    var out = [];
    var rem = doc.remediation;
    if (rem && rem.paused)
      out.push(banner('', 'Paused', 'Remediation is paused: alerts are ' +
        'journaled but no runbook acts until it is resumed.'));
    if (doc.tilt && doc.tilt.active)
      out.push(banner('alert', 'TILT', 'Actions are held after a ' +
        (doc.tilt.reason || 'stall') + ' until ' + fmtTime(doc.tilt.until) + '.'));
    if (rem && rem.journal_failed)
      out.push(banner('alert', 'Journal failed', 'The journal refused a ' +
        'record: remediation has stopped (fail-stop).'));
    if (doc.dry_run)
      out.push(banner('info', 'Dry run', 'Actions are recorded, not run.'));
    (doc.clusters || []).forEach(function (c) {
      if (c.failover && c.failover.blocked)
        out.push(banner('alert', 'Failover blocked', 'Cluster ' + c.name +
          ': a failover ran within the block period; another one waits.'));
      if (c.escalation && c.escalation.latched)
        out.push(banner('alert', 'Escalated', 'Cluster ' + c.name +
          ': an escalation latched it; risky actions wait for an ack.'));
    });
    byId('banners').replaceChildren.apply(byId('banners'), out);
  }

  /* --- clusters ---------------------------------------------------------- */

  function replicas(c) { return c.nodes.filter(function (n) { return !n.is_primary; }); }

  /* summary: the collapsed line: the words, not only the colours. */
  function summary(c) {
    var counts = {}, worst = null, out = 0;
    replicas(c).forEach(function (n) {
      counts[n.health] = (counts[n.health] || 0) + 1;
      if (n.lag !== null && (worst === null || n.lag > worst)) worst = n.lag;
      if (!n.in_read_rotation) out++;
    });
    var worstHealth = ['unhealthy', 'unknown', 'degraded', 'healthy']
      .filter(function (h) { return counts[h]; })[0] || 'unknown';
    var parts = Object.keys(counts).sort().map(function (h) {
      return counts[h] + ' ' + h;
    });
    return el('summary', {}, [
      el('span', {'class': 'name'}, [c.name]),
      el('span', {'class': 'health h-' + worstHealth}, [worstHealth]),
      ' \u00b7 primary ' + (c.primary || 'none') +
        ' \u00b7 epoch ' + (c.epoch === null ? '?' : c.epoch) +
        ' \u00b7 ' + replicas(c).length + ' replicas (' + parts.join(', ') + ')' +
        ' \u00b7 worst lag ' + fmtLag(worst) +
        ' \u00b7 ' + out + ' out of read rotation' +
        (c.sync_mode ? ' \u00b7 ' + c.sync_mode : '')]);
  }

  /* order: the primary first, then replicas by priority (the config's
   * order) */
  function ordered(c) {
    return c.nodes.filter(function (n) { return n.is_primary; })
      .concat(replicas(c));
  }

  function rotationCell(n) {
    if (n.is_primary) return el('td', {'class': 'rotation muted'}, ['primary']);
    if (n.in_read_rotation) return el('td', {'class': 'rotation'}, ['in']);
    return el('td', {'class': 'rotation out'}, ['out: ' + (n.rotation_reason || 'unknown')]);
  }

  function merkleCell(n) {
    if (!n.merkle) return el('td', {'class': 'muted'}, [n.is_primary ? '' : 'no compare yet']);
    var m = n.merkle;
    return el('td', {}, [m.diff_buckets === 0 ? 'in sync' :
      m.diff_buckets + ' of ' + m.buckets + ' buckets differ' +
      (m.diff_ranges ? ' (' + m.diff_ranges + ')' : '')]);
  }

  function scrapeCell(n, now) {
    if (n.last_failure)
      return el('td', {'class': 'out'}, ['failed: ' + n.last_failure +
        ' (last good ' + fmtAgo(n.last_ok, now) + ')']);
    return el('td', {}, [fmtAgo(n.last_ok, now) + (n.fresh ? '' : ' (stale)')]);
  }

  function lagsCell(n) {
    if (n.is_primary) return el('td', {'class': 'muted wide'}, ['']);
    return el('td', {'class': 'wide'}, ['hb ' + fmtLag(n.lag_heartbeat) +
      ' \u00b7 pos ' + fmtLag(n.lag_position) + ' \u00b7 rep ' + fmtLag(n.lag_reported)]);
  }

  function positionCell(n) {
    var behind = n.lag_positions === undefined || n.lag_positions === null ? ''
      : ' (' + n.lag_positions + ' behind)';
    return el('td', {'class': 'num'}, [n.position === null ? 'unknown'
      : String(n.position) + behind]);
  }

  /* nodeRow: what matters at 3 a.m. first: who, how healthy, how far
   * behind and for how long, whether it serves reads and why not. */
  function nodeRow(c, n, now) {
    var spark = el('td', {'class': 'spark-cell', 'data-node': n.name}, []);
    var role = n.role + (n.up ? '' : ', down');
    return el('tr', {'data-node': n.name}, [
      el('th', {scope: 'row'}, [n.name, el('span', {'class': 'tag'}, [role])]),
      n.is_primary ? el('td', {'class': 'muted'}, ['primary']) : healthCell(n.health),
      el('td', {'class': 'num'}, [n.is_primary ? '' : fmtLag(n.lag)]),
      spark, rotationCell(n), positionCell(n), lagsCell(n), merkleCell(n),
      scrapeCell(n, now)]);
  }

  function nodeTable(c, now) {
    var head = ['Node', 'Health', 'Lag (' + c.lag_source + ')', 'Lag, 15 min',
      'Read rotation', 'Position', 'Lags by kind', 'Merkle', 'Last scrape'];
    var wide = {'Lags by kind': 1};
    return el('div', {'class': 'scroll'}, [el('table', {'class': 'nodes'}, [
      el('thead', {}, [el('tr', {}, head.map(function (h) {
        return el('th', {scope: 'col', 'class': wide[h] ? 'wide' : null}, [h]);
      }))]),
      el('tbody', {}, ordered(c).map(function (n) { return nodeRow(c, n, now); }))])]);
  }

  function clusterActions(c) {
    return el('div', {'class': 'cluster-actions'}, [
      el('button', {type: 'button', 'class': 'act', 'data-act': 'ack',
        'data-cluster': c.name}, ['Ack escalation']),
      el('button', {type: 'button', 'class': 'act', 'data-act': 'switchover',
        'data-cluster': c.name}, ['Switchover'])]);
  }

  function clusterFacts(c) {
    var f = c.failover || {}, lastFo = f.last;
    var facts = 'Failover: ' + (f.phase || 'idle');
    if (lastFo)
      facts += '; last ' + lastFo.kind + ' ' + lastFo.outcome + ' from ' +
        (lastFo.from || '?') + ' to ' + (lastFo.to || 'none') +
        (lastFo.reason ? ' (' + lastFo.reason + ')' : '');
    if (c.throttle && c.throttle.active)
      facts += '; ingest throttled to ' + c.throttle.limit + '/s';
    if (c.replication)
      facts += '; replication ' + c.replication.mode +
        (c.replication.sync_ok ? '' : ' (sync replicas short)');
    return el('p', {'class': 'muted'}, [facts]);
  }

  function clusterBox(c, now) {
    var d = el('details', {'class': 'cluster', 'data-cluster': c.name,
      open: open.has(c.name)}, [summary(c)]);
    if (open.has(c.name))
      d.appendChild(el('div', {'class': 'body'},
        [clusterFacts(c), clusterActions(c), nodeTable(c, now)]));
    d.addEventListener('toggle', function () {
      if (d.open === open.has(c.name)) return;
      if (d.open) open.add(c.name); else open.delete(c.name);
      if (last) render(last);
      if (d.open) loadHistory(c.name);
    });
    return d;
  }

  /* --- history sparklines ------------------------------------------------ */

  var SVG = 'http://www.w3.org/2000/svg';

  function spark(lags, limit) {
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 120 24');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    var max = limit || 0, worst = null;
    lags.forEach(function (v) { if (v !== null && v > max) max = v; });
    lags.forEach(function (v) { if (v !== null && (worst === null || v > worst)) worst = v; });
    max = Math.max(max, 0.001);
    var step = lags.length > 1 ? 120 / (lags.length - 1) : 0, pts = [];
    function flush() {
      if (pts.length === 1) pts.push((parseFloat(pts[0]) + 1) + ',' + pts[0].split(',')[1]);
      if (pts.length) {
        var p = document.createElementNS(SVG, 'polyline');
        p.setAttribute('points', pts.join(' '));
        svg.appendChild(p);
      }
      pts = [];
    }
    lags.forEach(function (v, i) {
      if (v === null) { flush(); return; }
      pts.push((i * step).toFixed(1) + ',' + (23 - 22 * v / max).toFixed(1));
    });
    flush();
    if (limit) {
      var y = (23 - 22 * limit / max).toFixed(1), l = document.createElementNS(SVG, 'line');
      [['class', 'limit'], ['x1', 0], ['x2', 120], ['y1', y], ['y2', y]]
        .forEach(function (a) { l.setAttribute(a[0], a[1]); });
      svg.appendChild(l);
    }
    var t = document.createElementNS(SVG, 'title');
    t.textContent = 'Lag over the last 15 minutes: highest ' + fmtLag(worst);
    svg.appendChild(t);
    svg.setAttribute('aria-label', t.textContent);
    return svg;
  }

  function drawHistory(name) {
    var h = history.get(name), c = last && (last.clusters || []).filter(function (x) {
      return x.name === name; })[0];
    var box = document.querySelector('details.cluster[data-cluster="' + CSS.escape(name) + '"]');
    if (!h || !c || !box) return;
    var part = (h.doc.clusters || [])[0];
    (part ? part.nodes : []).forEach(function (n) {
      var cell = box.querySelector('td.spark-cell[data-node="' + CSS.escape(n.name) + '"]');
      if (!cell || c.primary === n.name) return;
      var lags = n.lag_ms.map(function (v) { return v === null ? null : v / 1000; });
      cell.replaceChildren(spark(lags, c.thresholds ? c.thresholds.read_max_lag : 0));
    });
  }

  function loadHistory(name) {
    var h = history.get(name);
    if (h && Date.now() - h.at < 2000) { drawHistory(name); return; }
    fetch('api/v1/history?cluster=' + encodeURIComponent(name), {cache: 'no-store'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) {
        if (doc) history.set(name, {doc: doc, at: Date.now()});
        drawHistory(name);
      }).catch(function () {});
  }

  /* --- runbooks and the timeline ----------------------------------------- */

  function budgets(doc) {
    var now = doc.generated_at;
    var rows = ((doc.remediation || {}).runbooks || []).map(function (b) {
      var cool = b.cooldown_until ? b.cooldown_until - now : 0;
      return el('tr', {'data-runbook': b.runbook}, [el('td', {}, [b.runbook]),
        el('td', {}, [b.cluster]),
        el('td', {'class': 'num'}, [b.budget_left + ' of ' + b.max_per_hour]),
        el('td', {}, [cool > 0 ? fmtLag(cool) + ' left on ' + b.cooldown_target
          : 'none'])]);
    });
    if (!rows.length)
      rows = [el('tr', {}, [el('td', {colspan: 4, 'class': 'muted'},
        [doc.remediation ? 'No alert has been planned yet.' :
          'Remediation is not configured.'])])];
    var tb = document.querySelector('#budgets tbody');
    tb.replaceChildren.apply(tb, rows);
  }

  function timeline(doc) {
    var acts = (doc.remediation || {}).recent_actions || [];
    var rows = acts.map(function (a) {
      return el('tr', {'data-action': a.action}, [
        el('td', {}, [fmtTime(a.time)]), el('td', {}, [a.cluster]),
        el('td', {}, [a.runbook]),
        el('td', {}, [a.action, a.dry_run ? el('span', {'class': 'tag'}, ['dry run']) : null]),
        el('td', {}, [a.target]), el('td', {}, [a.outcome]),
        el('td', {'class': 'num'}, [fmtLag(a.lag_before) + ' / ' + fmtLag(a.lag_after)]),
        el('td', {'class': 'detail'}, [a.detail || ''])]);
    });
    if (!rows.length)
      rows = [el('tr', {}, [el('td', {colspan: 8, 'class': 'muted'}, ['No actions yet.'])])];
    var tb = document.querySelector('#timeline tbody');
    tb.replaceChildren.apply(tb, rows);
  }

  /* --- the whole page ---------------------------------------------------- */

  function setMode() {
    var has = token() !== '';
    byId('mode').textContent = has ? 'Token set for this tab: actions enabled.'
      : 'Read-only: enter the API token to act.';
    document.querySelectorAll('button.act').forEach(function (b) { b.disabled = !has; });
    byId('token-clear').disabled = !has;
  }

  /* render: draws doc; returns the milliseconds it took (the browser
   * test reads them from here and from #perf). opened (optional): the
   * names of the clusters to show open from now on. */
  function render(doc, opened) {
    var t0 = performance.now(), now = doc.generated_at || Date.now() / 1000;
    if (opened) open = new Set(opened);
    last = doc;
    byId('version').textContent = doc.version || '';
    byId('updated').textContent = 'Updated ' + fmtTime(now) + ' \u00b7 round ' + doc.rounds +
      (doc.ready ? '' : ' \u00b7 not ready');
    banners(doc);
    var focus = document.activeElement, fbox = focus && focus.closest &&
      focus.tagName === 'SUMMARY' ? focus.closest('details.cluster') : null;
    var boxes = (doc.clusters || []).map(function (c) { return clusterBox(c, now); });
    byId('clusters').replaceChildren.apply(byId('clusters'), boxes);
    if (fbox) { /* keyboard readers keep their place across refreshes */
      var again = document.querySelector('details.cluster[data-cluster="' +
        CSS.escape(fbox.getAttribute('data-cluster')) + '"] > summary');
      if (again) again.focus();
    }
    budgets(doc);
    timeline(doc);
    setMode();
    open.forEach(function (name) { drawHistory(name); });
    var ms = performance.now() - t0;
    var nodes = (doc.clusters || []).reduce(function (k, c) { return k + c.nodes.length; }, 0);
    byId('perf').textContent = nodes + ' nodes rendered in ' + ms.toFixed(1) + ' ms';
    document.body.setAttribute('data-render-ms', ms.toFixed(1));
    return ms;
  }

  function schedule() {
    clearTimeout(timer);
    var every = last && last.interval ? last.interval : 1;
    timer = setTimeout(poll, Math.max(every, 0.5) * 1000);
  }

  function poll() {
    fetch('api/v1/state', {cache: 'no-store'})
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (doc) {
        render(doc);
        open.forEach(loadHistory);
      })
      .catch(function (e) {
        byId('updated').textContent = 'Cannot read the state: ' + e.message +
          ' (retrying)';
      })
      .then(schedule);
  }

  /* --- actions ----------------------------------------------------------- */

  function post(path, body, what) {
    var result = byId('result');
    result.textContent = what + '\u2026';
    return fetch(path, {method: 'POST', cache: 'no-store', headers: {
      'Authorization': 'Bearer ' + token(), 'Content-Type': 'application/json'},
      body: body ? JSON.stringify(body) : '{}'})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          result.textContent = what + ': ' + (r.ok ? 'done' :
            'refused (' + r.status + (j.error ? ', ' + j.error : '') + ')');
        });
      })
      .catch(function (e) { result.textContent = what + ': ' + e.message; })
      .then(poll);
  }

  function onClick(ev) {
    var b = ev.target.closest('button[data-act]');
    if (!b || b.disabled) return;
    var c = b.getAttribute('data-cluster');
    if (b.getAttribute('data-act') === 'ack')
      post('api/v1/ack/' + encodeURIComponent(c), null, 'Ack of ' + c);
    else if (window.confirm('Switch the primary of ' + c + ' over to its best replica?'))
      post('api/v1/failover/' + encodeURIComponent(c), null, 'Switchover of ' + c);
  }

  function init() {
    byId('auth').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var v = byId('token').value.trim();
      if (v) sessionStorage.setItem(TOKEN_KEY, v);
      byId('token').value = '';
      setMode();
    });
    byId('token-clear').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      setMode();
    });
    byId('pause').addEventListener('click', function () {
      post('api/v1/pause', null, 'Pause');
    });
    byId('resume').addEventListener('click', function () {
      post('api/v1/resume', null, 'Resume');
    });
    byId('clusters').addEventListener('click', onClick);
    setMode();
    poll();
  }

  window.replguard = {render: render};
  document.addEventListener('DOMContentLoaded', init);
})();
