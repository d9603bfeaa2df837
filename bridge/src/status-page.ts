/**
 * The status page at `/`: a static HTML page and script (no data in them, so they need no login);
 * the script asks for the admin token, keeps it in sessionStorage only, and renders
 * `GET /api/status` (admin) — feeds, import subscriptions with their status fields, the outbox and
 * its last errors. Everything is written with textContent (no HTML from data), and the page is
 * served with a Content-Security-Policy that allows only its own script.
 */
export const STATUS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Calendar Relay bridge</title>
<link rel="stylesheet" href="/status.css">
</head>
<body>
<header><h1>Calendar Relay bridge</h1><button id="logout" hidden>Sign out</button></header>
<form id="login">
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
  <p id="login-error" role="alert"></p>
</form>
<main id="status" hidden>
  <p id="updated"></p>
  <section><h2>Outbox</h2><table id="outbox"><tbody></tbody></table>
    <h3>Last delivery errors</h3><table id="outbox-errors"><thead><tr><th>delivery id</th><th>source</th><th>attempts</th><th>next attempt</th><th>error</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Feeds</h2><table id="feeds"><thead><tr><th>name</th><th>version</th><th>events</th><th>published</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Import subscriptions</h2><table id="subscriptions"><thead><tr><th>id</th><th>name</th><th>enabled</th><th>calendar_url</th><th>interval</th><th>last_checked_date</th><th>last_checked_filesize</th><th>last_parsed_date</th><th>event_count</th><th>sync</th><th>last_error</th></tr></thead><tbody></tbody></table></section>
</main>
<script src="/status.js"></script>
</body>
</html>
`;

export const STATUS_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
header{display:flex;gap:1rem;align-items:center}h1{font-size:1.3rem;margin:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.error{color:#a00}td.ok{color:#070}.empty{color:#777;font-style:italic}
#login-error{color:#a00}
`;

export const STATUS_JS = `'use strict';
(function () {
  var KEY = 'calendar-relay-admin-token';
  function $(id) { return document.getElementById(id); }
  function time(unixSeconds) { return unixSeconds == null ? '—' : new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\\.\\d+Z$/, ' UTC'); }
  function row(tbody, cells, classes) {
    var tr = document.createElement('tr');
    cells.forEach(function (c, i) {
      var td = document.createElement('td');
      td.textContent = c == null ? '—' : String(c);
      if (classes && classes[i]) td.className = classes[i];
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  }
  function fill(id, items, cells, classes, empty) {
    var tbody = $(id).querySelector('tbody');
    tbody.textContent = '';
    if (!items.length) { row(tbody, [empty]); tbody.firstChild.firstChild.className = 'empty'; return; }
    items.forEach(function (x) { row(tbody, cells(x), classes ? classes(x) : undefined); });
  }
  function render(s) {
    $('updated').textContent = 'Updated ' + time(Math.floor(Date.now() / 1000)) + ' · instance ' + s.instance;
    var o = s.outbox;
    var ob = $('outbox').querySelector('tbody');
    ob.textContent = '';
    row(ob, ['pending', o.pending]);
    row(ob, ['delivered', o.delivered]);
    row(ob, ['oldest pending', o.oldestPendingAt == null ? '—' : time(Math.floor(o.oldestPendingAt / 1000))]);
    fill('outbox-errors', s.outboxErrors, function (e) { return [e.deliveryId, e.source, e.attempts, time(Math.floor(e.nextAttemptAt / 1000)), e.lastError]; }, function () { return [0, 0, 0, 0, 'error']; }, 'no delivery errors');
    fill('feeds', s.feeds, function (f) { return [f.name, f.version, f.events, f.publishedAt == null ? '—' : time(Math.floor(f.publishedAt / 1000))]; }, null, 'no feeds published');
    fill('subscriptions', s.subscriptions, function (x) {
      return [x.id, x.name, x.enabled ? 'yes' : 'no', x.calendar_url, x.interval + ' s', time(x.last_checked_date), x.last_checked_filesize, time(x.last_parsed_date), x.event_count, syncText(x), x.last_error || 'ok'];
    }, function (x) { return [0, 0, 0, 0, 0, 0, 0, 0, 0, x.sync_status && !x.sync_status.ok ? 'error' : 0, x.last_error ? 'error' : 'ok']; }, 'no subscriptions');
  }
  // The last sync into a room (subscriptions with a sync target): where, when, what it wrote or why it was refused.
  function syncText(x) {
    var st = x.sync_status;
    if (!st) return x.sync_target ? x.sync_target + ' → ' + (x.sync_calendar || 'default room') + ': not synced yet' : '—';
    var where = st.target + ' → ' + st.calendar + ' at ' + time(st.date) + ': ';
    if (!st.ok) return where + (st.guard ? 'refused by ' + st.guard : 'failed') + (st.error ? ' (' + st.error + ')' : '');
    return where + st.created + ' created, ' + st.updated + ' updated, ' + st.deleted + ' deleted, ' + st.kept + ' kept' + (st.failed ? ', ' + st.failed + ' failed' : '');
  }
  function show(loggedIn) {
    $('login').hidden = loggedIn;
    $('status').hidden = !loggedIn;
    $('logout').hidden = !loggedIn;
  }
  function load() {
    var token = sessionStorage.getItem(KEY);
    if (!token) { show(false); return; }
    fetch('/api/status', { headers: { authorization: 'Bearer ' + token } }).then(function (res) {
      if (res.status === 401) {
        sessionStorage.removeItem(KEY);
        $('login-error').textContent = 'Wrong admin token.';
        show(false);
        return;
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json().then(function (s) { show(true); render(s); document.body.setAttribute('data-loaded', 'true'); });
    }).catch(function (err) { $('login-error').textContent = 'Cannot load the status: ' + err.message; });
  }
  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $('token').value);
    $('token').value = '';
    $('login-error').textContent = '';
    load();
  });
  $('logout').addEventListener('click', function () { sessionStorage.removeItem(KEY); show(false); });
  load();
  setInterval(function () { if (sessionStorage.getItem(KEY)) load(); }, 30000);
})();
`;
