import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/app-config';

/*
 * The operator's page: one HTML document with its style and script inline, no build step and
 * nothing loaded from elsewhere. The Content-Security-Policy allows exactly these two inline
 * blocks (by hash), so nothing injected into the page could run; the script builds every piece
 * of data into the DOM as text (never as markup), and Trusted Types make the browser refuse
 * any string-to-HTML sink. The page holds no data itself: it asks the JSON API with the token
 * the operator typed, kept in sessionStorage for this tab only.
 *
 * The script is plain ES2020 for the browser, kept free of backticks and dollar-brace so it can
 * live in this template string unchanged.
 */

export const ADMIN_PAGE_STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg-alt: #f6f8fa;
  --accent: #0b57d0; --bad: #b3261e; --warn: #8a4b00; --ok: #146c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; justify-content: space-between;
  padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--bg-alt); }
header h1 { font-size: 1.15rem; margin: 0; }
main { padding: 1rem 1.25rem 3rem; max-width: 90rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 .4rem; }
.session { display: flex; gap: .5rem; align-items: center; }
.muted, .hint { color: var(--muted); }
.hint { font-size: .9rem; margin: .25rem 0 .75rem; }
#status { margin: 0; padding: .5rem 1.25rem; min-height: 2.4rem; }
#status.error, .error { color: var(--bad); }
button { font: inherit; padding: .3rem .7rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff;
  color: var(--fg); cursor: pointer; }
button:hover { background: #eef1f4; }
button:disabled { opacity: .55; cursor: progress; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--bad); border-color: var(--bad); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
input, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 6px; width: 100%; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
form#login { max-width: 28rem; }
form#login button { margin-top: .75rem; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error-text { max-width: 36rem; white-space: pre-wrap; overflow-wrap: anywhere; }
td.actions { white-space: nowrap; }
td.actions button + button { margin-left: .3rem; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: anywhere; }
.group { border: 1px solid var(--line); border-radius: 8px; padding: .25rem 1rem .5rem; margin: 1rem 0; }
.group-head { display: flex; flex-wrap: wrap; gap: .75rem; align-items: baseline; justify-content: space-between; }
.state { display: inline-block; padding: 0 .4rem; border-radius: 4px; border: 1px solid currentColor; font-size: .85em; }
.state-failed, .state-needs_consent { color: var(--bad); }
.state-retrying, .state-waiting { color: var(--warn); }
.state-done, .state-archived { color: var(--ok); }
.cards { display: flex; flex-wrap: wrap; gap: 1rem 2.5rem; }
.cards > div { min-width: 14rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .25rem 0 1rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
dialog { width: min(70rem, 96vw); max-height: 92vh; border: 1px solid var(--line); border-radius: 10px; padding: 0 1.25rem 1rem; }
dialog::backdrop { background: rgba(0, 0, 0, .35); }
.dialog-head { position: sticky; top: 0; background: #fff; display: flex; justify-content: space-between;
  align-items: center; gap: 1rem; padding-top: .5rem; border-bottom: 1px solid var(--line); }
.dialog-actions { display: flex; gap: .5rem; margin-top: 1rem; }
ol.timeline { padding-left: 1.25rem; }
ol.timeline li { margin: .2rem 0; }
@media (prefers-reduced-motion: no-preference) { button { transition: background-color .1s; } }
`;

export const ADMIN_PAGE_SCRIPT = `
'use strict';
(function () {
  var TOKEN_KEY = 'esign-archiver.admin-token';
  var ATTENTION_STATES = ['failed', 'needs_consent', 'retrying', 'waiting'];
  var ARCHIVED_STATES = ['done', 'archived'];
  var CAUSES = {
    token_rejected: "The sender's API token was rejected; the sender must grant access again",
    no_token: 'No API token is known for the sender of this envelope',
    corrupt_pdf: 'A file said to be a PDF is not one',
    copy_not_verified: 'The copy in the object store could not be proven',
    copy_conflict: 'A different copy already holds the object key; it was left as it is',
    file_missing: 'A file the platform lists could not be downloaded (404)',
    file_too_large: 'A file is larger than the per-file limit (ARCHIVE_MAX_FILE_MB)',
    protocol_error: 'The platform answered in an unexpected shape',
    internal_error: 'An internal error (a defect) stopped the transfer',
    attempts_exhausted: 'Every attempt failed',
    max_age_exceeded: 'Retries ran past the maximum age',
    never_finished: 'The envelope never finished within the waiting window',
    not_finished_yet: 'The envelope is not finished yet; checked again later',
    deleted_during_archive: 'The envelope was deleted on the platform while it was being copied',
    envelope_not_found: 'The envelope no longer exists on the platform'
  };
  var STATE_NAMES = {
    failed: 'Failed', needs_consent: 'Needs consent', retrying: 'Retrying', waiting: 'Waiting',
    pending: 'Pending', checking: 'Checking', archiving: 'Archiving', archived: 'Archived',
    done: 'Done', gone: 'Gone', dismissed: 'Dismissed'
  };

  var byId = function (id) { return document.getElementById(id); };
  var token = null;
  var attention = { items: [], nextCursor: null };
  var lastSummary = null;

  /* Builds an element; strings among the children become text nodes, never markup. */
  function h(tag, props, children) {
    var node = document.createElement(tag);
    var p = props || {};
    Object.keys(p).forEach(function (key) {
      var value = p[key];
      if (value === undefined || value === null || value === false) return;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = value;
      else if (key === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(key, value === true ? '' : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { node.replaceChildren(); return node; }

  function announce(message, isError) {
    var status = byId('status');
    status.className = isError ? 'error' : '';
    status.textContent = '';
    /* A fresh text node makes screen readers announce a repeated message again. */
    window.setTimeout(function () { status.textContent = message; }, 30);
  }

  function stateBadge(state) {
    return h('span', { className: 'state state-' + state, text: STATE_NAMES[state] || state });
  }

  function time(iso) {
    if (!iso) return h('span', { className: 'muted', text: '\\u2014' });
    var d = new Date(iso);
    return h('time', { datetime: iso, title: iso, text: d.toLocaleString() });
  }

  function relative(iso) {
    var minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
    var abs = Math.abs(minutes);
    var span = abs < 1 ? 'now' : abs < 120 ? abs + ' min' : abs < 2880 ? Math.round(abs / 60) + ' h' : Math.round(abs / 1440) + ' days';
    if (span === 'now') return 'due now';
    return minutes > 0 ? 'in ' + span : 'due ' + span + ' ago';
  }

  function causeText(cause) {
    if (cause === null) return 'No cause recorded (transient errors are retried with backoff)';
    return CAUSES[cause] ? CAUSES[cause] + ' (' + cause + ')' : cause;
  }

  function table(caption, headers, rows) {
    return h('table', {}, [
      caption ? h('caption', { text: caption }) : null,
      h('thead', {}, [h('tr', {}, headers.map(function (head) {
        var numeric = head.charAt(0) === '#';
        return h('th', { scope: 'col', className: numeric ? 'num' : null, text: numeric ? head.slice(1) : head });
      }))]),
      h('tbody', {}, rows)
    ]);
  }

  function cell(content, className) {
    return h('td', { className: className }, [typeof content === 'number' ? String(content) : content]);
  }

  /* ---- API ---- */

  function SignedOut(message) { this.message = message; }

  async function api(method, path, body) {
    var headers = { Accept: 'application/json', Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var response = await fetch(path, {
      method: method, headers: headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401) {
      signOut(data && data.message ? 'The token was not accepted: ' + data.message : 'The token was not accepted.');
      throw new SignedOut('signed out');
    }
    if (!response.ok) {
      var message = data && data.message ? (Array.isArray(data.message) ? data.message.join('; ') : data.message) : response.statusText;
      throw new Error(message + ' (HTTP ' + response.status + ')');
    }
    return data;
  }

  function query(params) {
    var search = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      [].concat(params[key]).forEach(function (v) { if (v !== undefined && v !== null) search.append(key, String(v)); });
    });
    return search.toString();
  }

  function failed(error) {
    if (error instanceof SignedOut) return;
    announce(error && error.message ? error.message : String(error), true);
  }

  /* ---- sign in and out ---- */

  function show(id, visible) { byId(id).hidden = !visible; }

  function signOut(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    show('app', false);
    show('session', false);
    show('login', true);
    byId('login-error').textContent = message || '';
    byId('token').value = '';
    byId('token').focus();
  }

  async function signIn() {
    show('login', false);
    try {
      await refresh();
      show('app', true);
      show('session', true);
      byId('login-error').textContent = '';
    } catch (error) {
      if (!(error instanceof SignedOut)) { show('login', true); failed(error); }
    }
  }

  /* ---- loading ---- */

  async function refresh() {
    var results = await Promise.all([
      api('GET', 'admin/summary'),
      api('GET', 'admin/transfers?' + query({ state: ATTENTION_STATES, limit: 200 })),
      api('GET', 'admin/transfers?' + query({ state: ARCHIVED_STATES, limit: 20 }))
    ]);
    lastSummary = results[0];
    attention = { items: results[1].items, nextCursor: results[1].nextCursor };
    renderSummary(results[0]);
    renderAttention();
    renderArchived(results[2].items);
    byId('refreshed').textContent = 'Updated ' + new Date().toLocaleTimeString();
  }

  async function loadMore() {
    var button = byId('more');
    button.disabled = true;
    try {
      var page = await api('GET', 'admin/transfers?' + query({ state: ATTENTION_STATES, limit: 200, cursor: attention.nextCursor }));
      attention = { items: attention.items.concat(page.items), nextCursor: page.nextCursor };
      renderAttention();
      announce('Loaded ' + page.items.length + ' more transfers.');
    } catch (error) { failed(error); } finally { button.disabled = false; }
  }

  async function reloadAfterChange(message) {
    announce(message);
    try { await refresh(); } catch (error) { failed(error); }
    byId('attention-title').focus();
  }

  /* ---- rendering ---- */

  function renderSummary(summary) {
    var states = Object.keys(summary.byState);
    var counts = table('Transfers by state', ['State', '#Count'], states.map(function (state) {
      return h('tr', {}, [h('th', { scope: 'row' }, [stateBadge(state)]), cell(summary.byState[state], 'num')]);
    }));
    var due = summary.oldestDue;
    var facts = h('dl', {}, [
      h('dt', { text: 'Oldest due transfer' }),
      h('dd', {}, due ? [h('code', { text: due.envelopeId }), ' (' + due.platform + ', ' + due.state + ') due since ', time(due.dueSince)] : ['none']),
      h('dt', { text: 'Mail' }),
      h('dd', { text: summary.mail.pending + ' pending, ' + summary.mail.failed + ' failed' })
    ].concat(summary.lastCallbacks.length === 0
      ? [h('dt', { text: 'Last callback' }), h('dd', { text: 'none received yet' })]
      : summary.lastCallbacks.reduce(function (all, c) {
          return all.concat([h('dt', { text: 'Last callback from ' + c.platform }), h('dd', {}, [time(c.lastReceivedAt)])]);
        }, [])));
    clear(byId('summary')).appendChild(h('div', { className: 'cards' }, [h('div', {}, [counts]), h('div', {}, [facts])]));
  }

  function groupKey(item) { return item.state + '|' + (item.cause === null ? '' : item.cause); }

  function countOf(state, cause) {
    var found = (lastSummary ? lastSummary.byCause : []).find(function (g) { return g.state === state && g.cause === cause; });
    return found ? found.count : 0;
  }

  function renderAttention() {
    var container = clear(byId('attention'));
    var groups = [];
    var index = {};
    attention.items.forEach(function (item) {
      var key = groupKey(item);
      if (!(key in index)) { index[key] = groups.length; groups.push({ state: item.state, cause: item.cause, items: [] }); }
      groups[index[key]].items.push(item);
    });
    groups.sort(function (a, b) {
      return ATTENTION_STATES.indexOf(a.state) - ATTENTION_STATES.indexOf(b.state) || b.items.length - a.items.length;
    });
    if (groups.length === 0) container.appendChild(h('p', { text: 'Nothing needs attention.' }));
    groups.forEach(function (group, i) {
      var total = Math.max(countOf(group.state, group.cause), group.items.length);
      var headingId = 'group-' + i;
      var title = (STATE_NAMES[group.state] || group.state) + ': ' + causeText(group.cause);
      var retryAll = h('button', {
        type: 'button', className: 'primary',
        text: 'Retry all ' + total + ' in this group',
        'aria-describedby': headingId,
        onclick: function () { retryGroup(group, total, retryAll); }
      });
      var rows = group.items.map(function (item) {
        var envelope = item.envelopeId;
        var actions = h('td', { className: 'actions' }, [
          h('button', { type: 'button', text: 'Details', 'aria-label': 'Details of envelope ' + envelope, onclick: function () { openDetail(item.id); } }),
          h('button', { type: 'button', text: 'Retry', 'aria-label': 'Retry envelope ' + envelope, onclick: function (e) { retryOne(item, e.currentTarget); } }),
          h('button', { type: 'button', className: 'danger', text: 'Dismiss', 'aria-label': 'Dismiss envelope ' + envelope, onclick: function () { openDismiss(item); } })
        ]);
        var nextRetry = group.state === 'retrying' || group.state === 'waiting'
          ? h('span', {}, [time(item.nextAttemptAt), h('br'), h('span', { className: 'muted', text: relative(item.nextAttemptAt) })])
          : h('span', { className: 'muted', text: 'not scheduled' });
        return h('tr', { 'data-transfer-id': item.id }, [
          cell(h('code', { text: envelope })),
          cell(item.senderEmail || h('span', { className: 'muted', text: 'unknown' })),
          cell((item.lastErrorClass ? item.lastErrorClass + ': ' : '') + (item.lastError || ''), 'error-text'),
          cell(item.attempts, 'num'),
          cell(nextRetry),
          cell(time(item.updatedAt)),
          actions
        ]);
      });
      container.appendChild(h('section', { className: 'group', 'aria-labelledby': headingId, 'data-state': group.state, 'data-cause': group.cause === null ? '' : group.cause }, [
        h('div', { className: 'group-head' }, [
          h('h3', { id: headingId, text: title + ' \\u2014 ' + total }),
          retryAll
        ]),
        total > group.items.length ? h('p', { className: 'hint', text: 'Showing ' + group.items.length + ' of ' + total + '; load more below.' }) : null,
        table(null, ['Envelope', 'Sender', 'Last error', '#Attempts', 'Next retry', 'Updated', 'Actions'], rows)
      ]));
    });
    show('more', Boolean(attention.nextCursor));
  }

  function renderArchived(items) {
    var container = clear(byId('archived'));
    if (items.length === 0) { container.appendChild(h('p', { text: 'No archived transfers yet.' })); return; }
    container.appendChild(table(null, ['Envelope', 'Sender', 'State', 'Archived', 'Deleted on platform', 'Finished', 'Actions'], items.map(function (item) {
      return h('tr', { 'data-transfer-id': item.id }, [
        cell(h('code', { text: item.envelopeId })),
        cell(item.senderEmail || h('span', { className: 'muted', text: 'unknown' })),
        cell(stateBadge(item.state)),
        cell(time(item.archivedAt)),
        cell(time(item.platformDeletedAt)),
        cell(time(item.finishedAt)),
        h('td', { className: 'actions' }, [h('button', { type: 'button', text: 'Details', 'aria-label': 'Details of envelope ' + item.envelopeId, onclick: function () { openDetail(item.id); } })])
      ]);
    })));
  }

  /* ---- actions ---- */

  async function retryOne(item, button) {
    button.disabled = true;
    try {
      var result = await api('POST', 'admin/transfers/' + encodeURIComponent(item.id) + '/retry');
      await reloadAfterChange('Envelope ' + item.envelopeId + ' retried; it is now ' + result.state + '.');
    } catch (error) { button.disabled = false; failed(error); }
  }

  async function retryGroup(group, total, button) {
    var label = (STATE_NAMES[group.state] || group.state) + ' / ' + (group.cause || 'no cause');
    if (!window.confirm('Retry up to ' + total + ' transfers in "' + label + '"?')) return;
    button.disabled = true;
    try {
      var result = await api('POST', 'admin/transfers/retry', {
        state: [group.state], cause: [group.cause === null ? 'none' : group.cause], limit: 500
      });
      await reloadAfterChange('Retried ' + result.retried + ' transfers in "' + label + '".' + (result.more ? ' More remain: run it again.' : ''));
    } catch (error) { button.disabled = false; failed(error); }
  }

  var dismissing = null;

  function openDismiss(item) {
    dismissing = item;
    byId('dismiss-what').textContent = 'Envelope ' + item.envelopeId + ' (' + (STATE_NAMES[item.state] || item.state) + '). It will not be retried again.';
    byId('dismiss-reason').value = '';
    byId('dismiss-error').textContent = '';
    byId('dismiss').showModal();
    byId('dismiss-reason').focus();
  }

  async function submitDismiss(event) {
    event.preventDefault();
    var reason = byId('dismiss-reason').value.trim();
    if (reason.length < 3 || reason.length > 500) {
      byId('dismiss-error').textContent = 'Give a reason of 3 to 500 characters.';
      byId('dismiss-reason').focus();
      return;
    }
    var item = dismissing;
    var submit = byId('dismiss-submit');
    submit.disabled = true;
    try {
      await api('POST', 'admin/transfers/' + encodeURIComponent(item.id) + '/dismiss', { reason: reason });
      byId('dismiss').close();
      await reloadAfterChange('Envelope ' + item.envelopeId + ' dismissed.');
    } catch (error) {
      if (!(error instanceof SignedOut)) byId('dismiss-error').textContent = error.message;
      else byId('dismiss').close();
    } finally { submit.disabled = false; }
  }

  async function openDetail(id) {
    var body = clear(byId('detail-body'));
    body.appendChild(h('p', { text: 'Loading\\u2026' }));
    byId('detail-title').textContent = 'Transfer';
    if (!byId('detail').open) byId('detail').showModal();
    try {
      var d = await api('GET', 'admin/transfers/' + encodeURIComponent(id));
      renderDetail(d);
    } catch (error) {
      if (error instanceof SignedOut) { byId('detail').close(); return; }
      clear(body).appendChild(h('p', { className: 'error', text: error.message }));
    }
  }

  function renderDetail(d) {
    var t = d.transfer;
    byId('detail-title').textContent = 'Envelope ' + t.envelopeId;
    var facts = [
      ['State', stateBadge(t.state)], ['Cause', t.cause ? causeText(t.cause) : '\\u2014'],
      ['Last error', t.lastError ? (t.lastErrorClass ? t.lastErrorClass + ': ' : '') + t.lastError : '\\u2014'],
      ['Platform', t.platform + (t.envelopeStatus ? ' (envelope ' + t.envelopeStatus + ')' : '')],
      ['Sender', t.senderEmail || 'unknown'], ['Attempts', String(t.attempts)],
      ['Next attempt', time(t.nextAttemptAt)], ['Created', time(t.createdAt)], ['Updated', time(t.updatedAt)],
      ['Archived', time(t.archivedAt)], ['Deleted on platform', time(t.platformDeletedAt)], ['Finished', time(t.finishedAt)],
      ['Dismissed because', t.dismissedReason || '\\u2014'], ['Transfer id', h('code', { text: t.id })]
    ];
    var body = clear(byId('detail-body'));
    body.appendChild(h('dl', {}, facts.reduce(function (all, f) {
      return all.concat([h('dt', { text: f[0] }), h('dd', {}, [f[1]])]);
    }, [])));
    body.appendChild(d.documents.length === 0 ? h('p', { text: 'No documents recorded yet.' }) :
      table('Documents', ['Kind', 'File', 'Object key', '#Size', 'SHA-256', 'Verified'], d.documents.map(function (doc) {
        return h('tr', {}, [cell(doc.kind), cell(doc.fileName), cell(h('code', { text: doc.s3Key })),
          cell(doc.size === null ? '\\u2014' : String(doc.size), 'num'), cell(h('code', { text: doc.sha256 || '\\u2014' })),
          cell(doc.verifiedAt ? time(doc.verifiedAt) : h('span', { className: 'error', text: 'not verified' }))]);
      })));
    body.appendChild(d.attempts.length === 0 ? h('p', { text: 'No attempts yet.' }) :
      table('Attempts', ['#', 'Worker', 'Started', 'Finished', 'Outcome', 'Error'], d.attempts.map(function (a) {
        return h('tr', {}, [cell(a.attempt, 'num'), cell(a.worker), cell(time(a.startedAt)), cell(time(a.finishedAt)),
          cell(a.outcome || '\\u2014'), cell(a.error ? (a.errorClass ? a.errorClass + ': ' : '') + a.error : '\\u2014', 'error-text')]);
      })));
    body.appendChild(d.callbacks.length === 0 ? h('p', { text: 'No callbacks received for this envelope.' }) :
      table('Callbacks received', ['Action', '#Count', 'First', 'Last'], d.callbacks.map(function (c) {
        return h('tr', {}, [cell(c.action), cell(c.receivedCount, 'num'), cell(time(c.firstReceivedAt)), cell(time(c.lastReceivedAt))]);
      })));
    body.appendChild(h('h3', { text: 'Timeline' }));
    body.appendChild(h('ol', { className: 'timeline' }, d.timeline.map(function (e) {
      return h('li', {}, [time(e.at), ' \\u2014 ' + e.summary]);
    })));
  }

  /* ---- wiring ---- */

  document.addEventListener('DOMContentLoaded', function () {
    if (document.body.getAttribute('data-admin-configured') !== 'true') { show('disabled', true); return; }
    byId('login').addEventListener('submit', function (event) {
      event.preventDefault();
      var value = byId('token').value.trim();
      if (!value) { byId('login-error').textContent = 'Enter the admin token.'; return; }
      token = value;
      sessionStorage.setItem(TOKEN_KEY, value);
      signIn();
    });
    byId('signout').addEventListener('click', function () { signOut('Signed out.'); });
    byId('refresh').addEventListener('click', function () {
      refresh().then(function () { announce('Refreshed.'); }, failed);
    });
    byId('more').addEventListener('click', loadMore);
    byId('detail-close').addEventListener('click', function () { byId('detail').close(); });
    byId('dismiss-form').addEventListener('submit', submitDismiss);
    byId('dismiss-cancel').addEventListener('click', function () { byId('dismiss').close(); });
    token = sessionStorage.getItem(TOKEN_KEY);
    if (token) signIn(); else signOut('');
  });
})();
`;

const BODY = `
<header>
  <h1>E-signature archive: transfers</h1>
  <div class="session" id="session" hidden>
    <span id="refreshed" class="muted"></span>
    <button type="button" id="refresh">Refresh</button>
    <button type="button" id="signout">Sign out</button>
  </div>
</header>
<p id="status" role="status" aria-live="polite" aria-atomic="true"></p>
<main>
  <section id="disabled" hidden aria-labelledby="disabled-title">
    <h2 id="disabled-title">Admin access is disabled</h2>
    <p>No admin tokens are configured, so every admin request is refused. Set <code>ADMIN_TOKENS</code>
      (<code>name:secret</code> pairs, comma-separated, secrets of at least 16 characters) and restart the service.</p>
  </section>
  <form id="login" hidden aria-labelledby="login-title" novalidate>
    <h2 id="login-title">Sign in</h2>
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    <p class="hint">Kept for this browser tab only and sent with each request.</p>
    <p id="login-error" class="error" aria-live="assertive"></p>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <div id="app" hidden>
    <section aria-labelledby="summary-title">
      <h2 id="summary-title">Summary</h2>
      <div id="summary"></div>
    </section>
    <section aria-labelledby="attention-title">
      <h2 id="attention-title" tabindex="-1">Needs attention</h2>
      <p class="hint">Failed, needs-consent, retrying and waiting transfers, grouped by cause. Retry resumes
        where the transfer stopped and grants a fresh set of attempts.</p>
      <div id="attention"></div>
      <button type="button" id="more" hidden>Load more</button>
    </section>
    <section aria-labelledby="archived-title">
      <h2 id="archived-title">Recently archived</h2>
      <div id="archived"></div>
    </section>
  </div>
</main>
<dialog id="detail" aria-labelledby="detail-title">
  <div class="dialog-head">
    <h2 id="detail-title">Transfer</h2>
    <button type="button" id="detail-close">Close</button>
  </div>
  <div id="detail-body"></div>
</dialog>
<dialog id="dismiss" aria-labelledby="dismiss-title">
  <form id="dismiss-form" novalidate>
    <h2 id="dismiss-title">Dismiss transfer</h2>
    <p id="dismiss-what"></p>
    <label for="dismiss-reason">Reason (3 to 500 characters)</label>
    <textarea id="dismiss-reason" rows="3" maxlength="500" required></textarea>
    <p id="dismiss-error" class="error" aria-live="assertive"></p>
    <div class="dialog-actions">
      <button type="submit" id="dismiss-submit" class="danger">Dismiss</button>
      <button type="button" id="dismiss-cancel">Cancel</button>
    </div>
  </form>
</dialog>
`;

const cspHash = (source: string): string =>
  `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/** Only the page's own inline style and script may apply; nothing else may load, frame or post. */
export const ADMIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(ADMIN_PAGE_SCRIPT)}`,
  `style-src ${cspHash(ADMIN_PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export function renderAdminPage(options: { adminConfigured: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Transfers · e-signature archive admin</title>
<style>${ADMIN_PAGE_STYLE}</style>
</head>
<body data-admin-configured="${options.adminConfigured ? 'true' : 'false'}">${BODY}<script>${ADMIN_PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** The page as served by this instance (it says so when no admin token is configured). */
@Injectable()
export class AdminPage {
  readonly html: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.html = renderAdminPage({ adminConfigured: config.ADMIN_TOKENS.length > 0 });
  }
}
