// @ts-check
/*
 * The operator's page, in the browser. Served inline in /admin, unchanged, and allowed by its hash
 * in the Content-Security-Policy; type-checked against the admin API's own types
 * (src/admin/assets/tsconfig.json) and linted with the rest.
 *
 * Every piece of data goes into the DOM as text (textContent, text nodes, attributes), never as
 * markup: Trusted Types make the browser refuse any string-to-HTML sink. The page holds no data
 * itself: it asks the JSON API with the token the operator typed, kept in sessionStorage for this
 * tab only. The search filters live in the URL's fragment, so a filtered view can be linked.
 */
/* global document, window, sessionStorage, fetch, URLSearchParams, history, location, navigator */
'use strict';

/** @typedef {import('../admin-api.schemas').TransferView} TransferView */
/** @typedef {import('../admin-api.schemas').TransferPage} TransferPage */
/** @typedef {import('../admin-api.schemas').TransferDetail} TransferDetail */
/** @typedef {import('../admin-api.schemas').DocumentView} DocumentView */
/** @typedef {import('../admin-api.schemas').Summary} Summary */
/** @typedef {import('../admin-api.schemas').HourlySummary} HourlySummary */
/** @typedef {import('../admin-api.schemas').ConsentHealth} ConsentHealth */
/** @typedef {import('../admin-api.schemas').BulkRetryResult} BulkRetryResult */
/** @typedef {import('../../transfers/transfer-state').TransferState} TransferState */
/** @typedef {{ envelopeId: string, envelopeName: string | null }} EnvelopeRef */
/** @typedef {{ state: TransferState, cause: string | null, items: TransferView[] }} Group */
/** @typedef {{ q: string, platform: string, state: string, cause: string, sender: string }} Filters */
/** @typedef {'archived' | 'failed' | 'waiting'} SeriesKey */
/** @typedef {Node | string | null | undefined} Child */
/**
 * `text` becomes the node's text, `className` its class, `onclick` a listener; any other key an
 * attribute (skipped when null, undefined or false).
 * @typedef {{ text?: string | null, className?: string | null, onclick?: (event: MouseEvent) => void, [attribute: string]: unknown }} Props
 */

(function () {
  const TOKEN_KEY = 'esign-archiver.admin-token';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** @type {TransferState[]} */
  const ATTENTION_STATES = ['failed', 'needs_consent', 'retrying', 'waiting'];
  /** @type {TransferState[]} */
  const ARCHIVED_STATES = ['done', 'archived'];
  /** @type {Record<string, string>} */
  const CAUSES = {
    token_rejected: "The sender's API token was rejected; the sender must grant access again",
    no_token: 'No API token is known for the sender of this envelope',
    corrupt_pdf: 'A file said to be a PDF is not one',
    copy_not_verified: 'The copy in the object store could not be proven',
    checksum_mismatch: "The file read does not match the platform's own checksum of it",
    platform_preparing:
      'The platform is preparing a file (restoring it from its archive); checked again later',
    forbidden: 'The platform refuses this envelope to the token (a permission or a licence)',
    unsupported_envelope: 'The platform cannot serve this envelope through its API',
    unknown_status: 'The platform reports a status the service does not know',
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
    envelope_not_found: 'The envelope no longer exists on the platform',
  };
  /** @type {Record<TransferState, string>} */
  const STATE_NAMES = {
    failed: 'Failed',
    needs_consent: 'Needs consent',
    retrying: 'Retrying',
    waiting: 'Waiting',
    pending: 'Pending',
    checking: 'Checking',
    archiving: 'Archiving',
    archived: 'Archived',
    done: 'Done',
    gone: 'Gone',
    dismissed: 'Dismissed',
  };
  const STATES = /** @type {TransferState[]} */ (Object.keys(STATE_NAMES));
  /** @type {{ key: SeriesKey, name: string, verb: string }[]} */
  const SERIES = [
    { key: 'archived', name: 'Archived', verb: 'archived' },
    { key: 'failed', name: 'Failed', verb: 'failed' },
    { key: 'waiting', name: 'Waiting', verb: 'found not finished yet' },
  ];
  /** @type {(keyof Filters)[]} */
  const FILTER_KEYS = ['q', 'platform', 'state', 'cause', 'sender'];
  // As the API checks them: a link's fragment is anybody's text.
  const ID_LIKE = /^[0-9A-Fa-f-]+$/;
  const CODE = /^[a-z0-9_-]{1,64}$/;
  const SEARCH_PAGE = 50;
  const DASH = '\u2014';

  /** @type {string | null} */
  let token = null;
  /** @type {{ items: TransferView[], nextCursor: string | null }} */
  let attention = { items: [], nextCursor: null };
  /** @type {Summary | null} */
  let lastSummary = null;
  /** @type {{ filters: Filters, items: TransferView[], nextCursor: string | null, run: number }} */
  const search = { filters: noFilters(), items: [], nextCursor: null, run: 0 };

  /**
   * @param {string} id
   * @returns {HTMLElement}
   */
  function byId(id) {
    const node = document.getElementById(id);
    if (!node) throw new Error('the page has no #' + id);
    return node;
  }
  const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id));
  const select = (/** @type {string} */ id) => /** @type {HTMLSelectElement} */ (byId(id));
  const button = (/** @type {string} */ id) => /** @type {HTMLButtonElement} */ (byId(id));
  const dialog = (/** @type {string} */ id) => /** @type {HTMLDialogElement} */ (byId(id));

  /**
   * Builds an element; strings among the children become text nodes, never markup.
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Props} [props]
   * @param {Child[]} [children]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function h(tag, props, children) {
    const node = document.createElement(tag);
    const p = props || {};
    for (const key of Object.keys(p)) {
      const value = p[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = String(value);
      else if (key === 'onclick') {
        /** @type {HTMLElement} */ (node).addEventListener(
          'click',
          /** @type {(event: MouseEvent) => void} */ (value),
        );
      } else node.setAttribute(key, value === true ? '' : String(value));
    }
    append(node, children);
    return node;
  }

  /**
   * An SVG element, built the same way.
   * @template {keyof SVGElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | number | null>} attributes
   * @param {Child[]} [children]
   * @returns {SVGElementTagNameMap[K]}
   */
  function svg(tag, attributes, children) {
    const node = /** @type {SVGElementTagNameMap[K]} */ (document.createElementNS(SVG_NS, tag));
    for (const key of Object.keys(attributes)) {
      const value = attributes[key];
      if (value !== null) node.setAttribute(key, String(value));
    }
    append(node, children);
    return node;
  }

  /**
   * @param {Node} node
   * @param {Child[] | undefined} children
   */
  function append(node, children) {
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
  }

  /**
   * @template {Element} E
   * @param {E} node
   * @returns {E}
   */
  function clear(node) {
    node.replaceChildren();
    return node;
  }

  /**
   * @param {string} message
   * @param {boolean} [isError]
   */
  function announce(message, isError) {
    const status = byId('status');
    status.className = isError ? 'error' : '';
    status.textContent = '';
    // A fresh text node makes screen readers announce a repeated message again.
    window.setTimeout(() => {
      status.textContent = message;
    }, 30);
  }

  /** @param {TransferState} state */
  function stateName(state) {
    return STATE_NAMES[state] || state;
  }

  /** @param {TransferState} state */
  function stateBadge(state) {
    return h('span', { className: 'state state-' + state, text: stateName(state) });
  }

  /** @param {string | null} iso */
  function time(iso) {
    if (!iso) return h('span', { className: 'muted', text: DASH });
    return h('time', { datetime: iso, title: iso, text: new Date(iso).toLocaleString() });
  }

  /** @param {string} iso */
  function relative(iso) {
    const minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
    const abs = Math.abs(minutes);
    if (abs < 1) return 'due now';
    const span =
      abs < 120 ? abs + ' min' : abs < 2880 ? Math.round(abs / 60) + ' h' : Math.round(abs / 1440) + ' days';
    return minutes > 0 ? 'in ' + span : 'due ' + span + ' ago';
  }

  /**
   * "45 s", "12 min", "3 h 12 min", "2 days 4 h".
   * @param {number} seconds
   */
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + ' s';
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return minutes + ' min';
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + ' h' + (minutes % 60 ? ' ' + (minutes % 60) + ' min' : '');
    const days = Math.floor(hours / 24);
    return days + ' days' + (hours % 24 ? ' ' + (hours % 24) + ' h' : '');
  }

  /** @param {string} iso */
  function ago(iso) {
    return duration((Date.now() - Date.parse(iso)) / 1000) + ' ago';
  }

  /** @param {string | null} cause */
  function causeText(cause) {
    if (cause === null) return 'No cause recorded (transient errors are retried with backoff)';
    return CAUSES[cause] ? CAUSES[cause] + ' (' + cause + ')' : cause;
  }

  /**
   * The envelope as people know it: its name with its id, or the id while no name is known.
   * @param {EnvelopeRef} e
   */
  function envelopeLabel(e) {
    return e.envelopeName ? e.envelopeName + ' (' + e.envelopeId + ')' : e.envelopeId;
  }

  /** @param {TransferView} item */
  function envelopeCell(item) {
    return h('td', { className: 'envelope' }, [
      item.envelopeName ? h('span', { className: 'envelope-name', text: item.envelopeName }) : null,
      h('code', { className: 'envelope-id', text: item.envelopeId }),
      item.warning ? h('span', { className: 'warning', text: 'Warning: ' + item.warning }) : null,
    ]);
  }

  /** @param {string | null} email */
  function senderText(email) {
    return email || h('span', { className: 'muted', text: 'unknown' });
  }

  /**
   * @param {string | null} caption
   * @param {string[]} headers  a leading `#` marks a numeric column
   * @param {HTMLTableRowElement[]} rows
   */
  function table(caption, headers, rows) {
    return h('table', {}, [
      caption ? h('caption', { text: caption }) : null,
      h('thead', {}, [
        h(
          'tr',
          {},
          headers.map((head) => {
            const numeric = head.charAt(0) === '#';
            return h('th', {
              scope: 'col',
              className: numeric ? 'num' : null,
              text: numeric ? head.slice(1) : head,
            });
          }),
        ),
      ]),
      h('tbody', {}, rows),
    ]);
  }

  /**
   * @param {Child | number} content
   * @param {string} [className]
   */
  function cell(content, className) {
    return h('td', { className: className }, [typeof content === 'number' ? String(content) : content]);
  }

  /** @param {TransferView} item */
  function detailsButton(item) {
    return h('button', {
      type: 'button',
      text: 'Details',
      'aria-label': 'Details of envelope ' + envelopeLabel(item),
      onclick: () => openDetail(item.id),
    });
  }

  /* ---- API ---- */

  class SignedOut extends Error {}

  /**
   * @template T
   * @param {string} method
   * @param {string} path  relative, so the page works wherever /admin is mounted
   * @param {unknown} [body]
   * @returns {Promise<T>}
   */
  async function api(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json', Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method: method,
      headers: headers,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    /** @type {unknown} */
    let data;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    const message = messageOf(data);
    if (response.status === 401) {
      signOut(message ? 'The token was not accepted: ' + message : 'The token was not accepted.');
      throw new SignedOut('signed out');
    }
    if (!response.ok) throw new Error((message || response.statusText) + ' (HTTP ' + response.status + ')');
    return /** @type {T} */ (data);
  }

  /**
   * The `message` of an error answer, or ''.
   * @param {unknown} data
   */
  function messageOf(data) {
    if (typeof data !== 'object' || data === null || !('message' in data)) return '';
    const message = data.message;
    return Array.isArray(message) ? message.join('; ') : String(message);
  }

  /** @param {Record<string, string | number | string[] | null | undefined>} params */
  function query(params) {
    const out = new URLSearchParams();
    for (const key of Object.keys(params)) {
      const value = params[key];
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v !== undefined && v !== null && v !== '') out.append(key, String(v));
      }
    }
    return out.toString();
  }

  /** @param {unknown} error */
  function failed(error) {
    if (error instanceof SignedOut) return;
    announce(error instanceof Error ? error.message : String(error), true);
  }

  /* ---- sign in and out ---- */

  /**
   * @param {string} id
   * @param {boolean} visible
   */
  function show(id, visible) {
    byId(id).hidden = !visible;
  }

  /** @param {string} [message] */
  function signOut(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    show('app', false);
    show('session', false);
    show('login', true);
    byId('login-error').textContent = message || '';
    input('token').value = '';
    input('token').focus();
  }

  async function signIn() {
    show('login', false);
    try {
      await refresh();
      show('app', true);
      show('session', true);
      byId('login-error').textContent = '';
      if (hasFilters(search.filters)) byId('search-title').scrollIntoView();
    } catch (error) {
      if (!(error instanceof SignedOut)) {
        show('login', true);
        failed(error);
      }
    }
  }

  /* ---- loading ---- */

  async function refresh() {
    /** @type {Promise<Summary>} */
    const summaryAnswer = api('GET', 'admin/summary');
    /** @type {Promise<HourlySummary>} */
    const hourlyAnswer = api('GET', 'admin/summary/hourly');
    /** @type {Promise<ConsentHealth>} */
    const consentAnswer = api('GET', 'admin/summary/consent');
    /** @type {Promise<TransferPage>} */
    const needingAnswer = api('GET', 'admin/transfers?' + query({ state: ATTENTION_STATES, limit: 200 }));
    /** @type {Promise<TransferPage>} */
    const archivedAnswer = api('GET', 'admin/transfers?' + query({ state: ARCHIVED_STATES, limit: 20 }));
    const [summary, hourly, consent, needing, archived] = await Promise.all([
      summaryAnswer,
      hourlyAnswer,
      consentAnswer,
      needingAnswer,
      archivedAnswer,
      runSearch(search.filters),
    ]);
    lastSummary = summary;
    attention = { items: needing.items, nextCursor: needing.nextCursor };
    renderSummary(summary);
    renderActivity(hourly);
    renderConsent(consent);
    renderAttention();
    renderArchived(archived.items);
    renderFilterOptions();
    byId('refreshed').textContent = 'Updated ' + new Date().toLocaleTimeString();
  }

  async function loadMore() {
    const more = button('more');
    more.disabled = true;
    try {
      /** @type {TransferPage} */
      const page = await api(
        'GET',
        'admin/transfers?' + query({ state: ATTENTION_STATES, limit: 200, cursor: attention.nextCursor }),
      );
      attention = { items: attention.items.concat(page.items), nextCursor: page.nextCursor };
      renderAttention();
      announce('Loaded ' + page.items.length + ' more transfers.');
    } catch (error) {
      failed(error);
    } finally {
      more.disabled = false;
    }
  }

  /** @param {string} message */
  async function reloadAfterChange(message) {
    announce(message);
    try {
      await refresh();
    } catch (error) {
      failed(error);
    }
    byId('attention-title').focus();
  }

  /* ---- summary, activity, consent ---- */

  /** @param {Summary} summary */
  function renderSummary(summary) {
    // One row of counts under one row of states: the whole pipeline at a glance.
    const counts = h('table', { className: 'counts' }, [
      h('caption', { text: 'Transfers by state' }),
      h('thead', {}, [
        h(
          'tr',
          {},
          STATES.map((state) => h('th', { scope: 'col' }, [stateBadge(state)])),
        ),
      ]),
      h('tbody', {}, [
        h(
          'tr',
          {},
          STATES.map((state) => {
            const n = summary.byState[state] || 0;
            return cell(n, n === 0 ? 'num zero' : 'num');
          }),
        ),
      ]),
    ]);
    const due = summary.oldestDue;
    /** @type {Child[]} */
    const facts = [
      h('dt', { text: 'Oldest due transfer' }),
      h(
        'dd',
        { id: 'oldest-due' },
        due
          ? [
              h('strong', { text: 'due for ' + duration(due.ageSeconds) }),
              ' ' + DASH + ' ',
              h('span', { text: envelopeLabel(due) }),
              ' (' + due.platform + ', ' + stateName(due.state) + '), due since ',
              time(due.dueSince),
            ]
          : ['none: the workers are keeping up'],
      ),
      h('dt', { text: 'Mail' }),
      h('dd', { text: summary.mail.pending + ' pending, ' + summary.mail.failed + ' failed' }),
    ];
    if (summary.lastCallbacks.length === 0) {
      facts.push(h('dt', { text: 'Last callback' }), h('dd', { text: 'none received yet' }));
    }
    for (const c of summary.lastCallbacks) {
      facts.push(
        h('dt', { text: 'Last callback from ' + c.platform }),
        h('dd', {}, [time(c.lastReceivedAt)]),
      );
    }
    for (const r of summary.reconciliation) {
      const run = r.lastRun;
      facts.push(
        h('dt', { text: 'Reconciliation of ' + r.platform }),
        h(
          'dd',
          {},
          run === null
            ? [h('span', { text: 'no run yet' })]
            : [
                h('span', {
                  text:
                    run.outcome === null
                      ? 'running since '
                      : run.outcome === 'ok'
                        ? 'last run '
                        : 'last run ' + run.outcome + ', ',
                }),
                time(run.finishedAt ?? run.startedAt),
                h('span', {
                  text:
                    ': ' +
                    run.found +
                    ' finished, ' +
                    run.created +
                    ' had no callback' +
                    (run.errors.length > 0 ? ' (' + run.errors[0] + ')' : ''),
                }),
              ],
        ),
        h('dt', { text: 'Missed callbacks, 7 days (' + r.platform + ')' }),
        h('dd', {
          text: String(r.foundOnlyByReconciliation7d),
          className: r.foundOnlyByReconciliation7d > 0 ? 'warning' : '',
        }),
      );
    }
    clear(byId('summary')).append(counts, h('dl', { className: 'facts' }, facts));
  }

  /** @param {string} iso */
  function hourLabel(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /** @param {string} iso */
  function hourSpan(iso) {
    const start = new Date(iso);
    const end = new Date(start.getTime() + 3600000);
    return (
      start.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' }) +
      ' ' +
      hourLabel(iso) +
      '\u2013' +
      hourLabel(end.toISOString())
    );
  }

  /**
   * Three rows of bars sharing one time axis (one row per series, each scaled to its own
   * largest hour), drawn as SVG from DOM calls; a table beside it holds the same numbers.
   * @param {HourlySummary} hourly
   */
  function renderActivity(hourly) {
    const hours = hourly.hours;
    const labelWidth = 150;
    const plotWidth = 720;
    const rowHeight = 52;
    const rowGap = 14;
    const axisHeight = 22;
    const slot = plotWidth / Math.max(hours.length, 1);
    const width = labelWidth + plotWidth + 8;
    const height = SERIES.length * (rowHeight + rowGap) + axisHeight;

    /** @type {string[]} */
    const described = [];
    const rows = SERIES.map((series, i) => {
      const counts = hours.map((hour) => hour[series.key]);
      const total = counts.reduce((a, b) => a + b, 0);
      const max = Math.max(0, ...counts);
      described.push(
        series.name +
          ': ' +
          total +
          ' in ' +
          hours.length +
          ' hours' +
          (max > 0 ? ', at most ' + max + ' in one hour' : ''),
      );
      const top = i * (rowHeight + rowGap);
      const bottom = top + rowHeight;
      const bars = hours.map((hour, j) => {
        const count = hour[series.key];
        // A count above zero stays visible however small it is next to the largest hour.
        const barHeight = count === 0 ? 0 : Math.max(2, Math.round((count / max) * (rowHeight - 6)));
        return svg(
          'rect',
          {
            class: 'bar',
            x: (labelWidth + j * slot + 1).toFixed(1),
            y: bottom - barHeight,
            width: Math.max(1, slot - 2).toFixed(1),
            height: barHeight,
            'data-hour': hour.hour,
            'data-count': count,
          },
          [svg('title', {}, [hourSpan(hour.hour) + ': ' + count + ' ' + series.verb])],
        );
      });
      return svg('g', { class: 'series series-' + series.key, 'data-series': series.key }, [
        svg('text', { class: 'series-name', x: 0, y: top + 18 }, [series.name]),
        svg('text', { class: 'series-total', x: 0, y: top + 36 }, [total + ' in 48 h, peak ' + max + '/h']),
        svg('line', {
          class: 'baseline',
          x1: labelWidth,
          x2: labelWidth + plotWidth,
          y1: bottom,
          y2: bottom,
        }),
        ...bars,
      ]);
    });
    // A tick every six hours, counted back from the current hour.
    const ticks = [];
    for (let j = hours.length - 1; j >= 0; j -= 6) {
      const x = labelWidth + j * slot + slot / 2;
      ticks.push(
        svg('text', { class: 'tick', x: x.toFixed(1), y: height - 6, 'text-anchor': 'middle' }, [
          j === hours.length - 1 ? 'now' : hourLabel(hours[j].hour),
        ]),
      );
    }
    const chart = svg(
      'svg',
      {
        class: 'chart',
        viewBox: '0 0 ' + width + ' ' + height,
        role: 'img',
        'aria-labelledby': 'activity-chart-title activity-chart-desc',
        preserveAspectRatio: 'xMinYMin meet',
      },
      [
        svg('title', { id: 'activity-chart-title' }, ['Transfers per hour over the last 48 hours']),
        svg('desc', { id: 'activity-chart-desc' }, [described.join('. ') + '.']),
        ...rows,
        svg('g', { class: 'axis' }, ticks),
      ],
    );
    const numbers = table(
      'Transfers per hour (your local time)',
      ['Hour', '#Archived', '#Failed', '#Waiting'],
      hours
        .slice()
        .reverse()
        .map((hour) =>
          h('tr', { 'data-hour': hour.hour }, [
            h('th', { scope: 'row', text: hourSpan(hour.hour) }),
            cell(hour.archived, 'num'),
            cell(hour.failed, 'num'),
            cell(hour.waiting, 'num'),
          ]),
        ),
    );
    clear(byId('activity')).append(
      h('figure', {}, [chart, h('figcaption', { className: 'hint', text: described.join('. ') + '.' })]),
      h('details', {}, [h('summary', { text: 'The numbers, hour by hour' }), numbers]),
    );
  }

  /** @param {ConsentHealth} consent */
  function renderConsent(consent) {
    const container = clear(byId('consent'));
    byId('consent-count').textContent =
      consent.count === 0
        ? "Every sender's access works."
        : consent.count + (consent.count === 1 ? ' sender must' : ' senders must') + ' grant access again.';
    if (consent.count === 0) return;
    container.appendChild(
      table(
        'Senders whose token was rejected',
        ['Sender', 'Platform', 'Sender id', 'Rejected since', '#Transfers waiting'],
        consent.senders.map((s) =>
          h('tr', { 'data-sender-id': s.id }, [
            cell(s.email || h('span', { className: 'muted', text: 'no address known' })),
            cell(s.platform),
            cell(h('code', { text: s.id })),
            cell(
              h('span', {}, [
                time(s.since),
                h('span', { className: 'muted', text: ' (' + ago(s.since) + ')' }),
              ]),
            ),
            cell(s.waitingTransfers, 'num'),
          ]),
        ),
      ),
    );
    if (consent.count > consent.senders.length) {
      container.appendChild(
        h('p', {
          className: 'hint',
          text: 'Showing the ' + consent.senders.length + ' who have waited longest.',
        }),
      );
    }
  }

  /* ---- needs attention, recently archived ---- */

  /** @param {TransferView} item */
  function groupKey(item) {
    return item.state + '|' + (item.cause === null ? '' : item.cause);
  }

  /**
   * @param {TransferState} state
   * @param {string | null} cause
   */
  function countOf(state, cause) {
    if (!lastSummary) return 0;
    const found = lastSummary.byCause.find((g) => g.state === state && g.cause === cause);
    return found ? found.count : 0;
  }

  function renderAttention() {
    const container = clear(byId('attention'));
    /** @type {Group[]} */
    const groups = [];
    /** @type {Map<string, Group>} */
    const index = new Map();
    for (const item of attention.items) {
      const key = groupKey(item);
      let group = index.get(key);
      if (!group) {
        group = { state: item.state, cause: item.cause, items: [] };
        index.set(key, group);
        groups.push(group);
      }
      group.items.push(item);
    }
    groups.sort(
      (a, b) =>
        ATTENTION_STATES.indexOf(a.state) - ATTENTION_STATES.indexOf(b.state) ||
        b.items.length - a.items.length,
    );
    if (groups.length === 0) container.appendChild(h('p', { text: 'Nothing needs attention.' }));
    groups.forEach((group, i) => {
      const total = Math.max(countOf(group.state, group.cause), group.items.length);
      const headingId = 'group-' + i;
      const title = stateName(group.state) + ': ' + causeText(group.cause);
      const retryAll = h('button', {
        type: 'button',
        className: 'primary',
        text: 'Retry all ' + total + ' in this group',
        'aria-describedby': headingId,
        onclick: () => retryGroup(group, total, retryAll),
      });
      const rows = group.items.map((item) => {
        const label = envelopeLabel(item);
        const actions = h('td', { className: 'actions' }, [
          detailsButton(item),
          h('button', {
            type: 'button',
            text: 'Retry',
            'aria-label': 'Retry envelope ' + label,
            onclick: (event) => retryOne(item, /** @type {HTMLButtonElement} */ (event.currentTarget)),
          }),
          h('button', {
            type: 'button',
            className: 'danger',
            text: 'Dismiss',
            'aria-label': 'Dismiss envelope ' + label,
            onclick: () => openDismiss(item),
          }),
        ]);
        const nextRetry =
          group.state === 'retrying' || group.state === 'waiting'
            ? h('span', {}, [
                time(item.nextAttemptAt),
                h('br'),
                h('span', { className: 'muted', text: relative(item.nextAttemptAt) }),
              ])
            : h('span', { className: 'muted', text: 'not scheduled' });
        return h('tr', { 'data-transfer-id': item.id }, [
          envelopeCell(item),
          cell(item.platform),
          cell(senderText(item.senderEmail)),
          cell(
            (item.lastErrorClass ? item.lastErrorClass + ': ' : '') + (item.lastError || ''),
            'error-text',
          ),
          cell(item.attempts, 'num'),
          cell(nextRetry),
          cell(time(item.updatedAt)),
          actions,
        ]);
      });
      container.appendChild(
        h(
          'section',
          {
            className: 'group',
            'aria-labelledby': headingId,
            'data-state': group.state,
            'data-cause': group.cause === null ? '' : group.cause,
          },
          [
            h('div', { className: 'group-head' }, [
              h('h3', { id: headingId, text: title + ' ' + DASH + ' ' + total }),
              retryAll,
            ]),
            total > group.items.length
              ? h('p', {
                  className: 'hint',
                  text: 'Showing ' + group.items.length + ' of ' + total + '; load more below.',
                })
              : null,
            table(
              null,
              [
                'Envelope',
                'Platform',
                'Sender',
                'Last error',
                '#Attempts',
                'Next retry',
                'Updated',
                'Actions',
              ],
              rows,
            ),
          ],
        ),
      );
    });
    show('more', Boolean(attention.nextCursor));
  }

  /** @param {TransferView[]} items */
  function renderArchived(items) {
    const container = clear(byId('archived'));
    if (items.length === 0) {
      container.appendChild(h('p', { text: 'No archived transfers yet.' }));
      return;
    }
    container.appendChild(
      table(
        null,
        ['Envelope', 'Platform', 'Sender', 'State', 'Archived', 'Deleted on platform', 'Finished', 'Actions'],
        items.map((item) =>
          h('tr', { 'data-transfer-id': item.id }, [
            envelopeCell(item),
            cell(item.platform),
            cell(senderText(item.senderEmail)),
            cell(stateBadge(item.state)),
            cell(time(item.archivedAt)),
            cell(time(item.platformDeletedAt)),
            cell(time(item.finishedAt)),
            h('td', { className: 'actions' }, [detailsButton(item)]),
          ]),
        ),
      ),
    );
  }

  /* ---- search and filters ---- */

  /** @returns {Filters} */
  function noFilters() {
    return { q: '', platform: '', state: '', cause: '', sender: '' };
  }

  /** @param {Filters} filters */
  function hasFilters(filters) {
    return FILTER_KEYS.some((key) => filters[key] !== '');
  }

  /**
   * The filters a link's fragment names; values that cannot be what they claim are dropped.
   * @returns {Filters}
   */
  function filtersFromHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const filters = noFilters();
    for (const key of FILTER_KEYS) filters[key] = (params.get(key) || '').trim().slice(0, 320);
    if (filters.state && !STATES.includes(/** @type {TransferState} */ (filters.state))) filters.state = '';
    if (filters.platform && !CODE.test(filters.platform)) filters.platform = '';
    if (filters.cause && !CODE.test(filters.cause)) filters.cause = '';
    return filters;
  }

  /** @param {Filters} filters */
  function writeHash(filters) {
    const params = query(filters);
    // Replacing, not pushing: the fragment names the view; the history does not fill with keystrokes.
    history.replaceState(null, '', params ? '#' + params : location.pathname + location.search);
  }

  /** @returns {Filters} */
  function filtersFromForm() {
    return {
      q: input('search-q').value.trim(),
      platform: select('search-platform').value,
      state: select('search-state').value,
      cause: select('search-cause').value,
      sender: input('search-sender').value.trim(),
    };
  }

  /** @param {Filters} filters */
  function fillForm(filters) {
    input('search-q').value = filters.q;
    input('search-sender').value = filters.sender;
    renderFilterOptions(filters);
  }

  /**
   * @param {string} value
   * @param {string} label
   * @returns {[string, string]}
   */
  function pair(value, label) {
    return [value, label];
  }

  /**
   * @param {HTMLSelectElement} control
   * @param {string} anyLabel
   * @param {[string, string][]} options  value and label
   * @param {string} selected
   */
  function fillSelect(control, anyLabel, options, selected) {
    // A value the lists do not know (a link from elsewhere) is kept as an option of its own.
    const all =
      options.some((o) => o[0] === selected) || selected === ''
        ? options
        : options.concat([[selected, selected]]);
    control.replaceChildren(
      h('option', { value: '', text: anyLabel }),
      ...all.map((o) => h('option', { value: o[0], text: o[1] })),
    );
    control.value = selected;
  }

  /** @param {Filters} [filters] */
  function renderFilterOptions(filters) {
    const current = filters || filtersFromForm();
    const platforms = lastSummary ? lastSummary.platforms : [];
    fillSelect(
      select('search-platform'),
      'Any platform',
      platforms.map((p) => pair(p, p)),
      current.platform,
    );
    fillSelect(
      select('search-state'),
      'Any state',
      STATES.map((s) => pair(s, STATE_NAMES[s])),
      current.state,
    );
    const causes = Object.keys(CAUSES);
    for (const g of lastSummary ? lastSummary.byCause : []) {
      if (g.cause !== null && !causes.includes(g.cause)) causes.push(g.cause);
    }
    fillSelect(
      select('search-cause'),
      'Any cause',
      [pair('none', 'No cause recorded')].concat(causes.map((c) => pair(c, c))),
      current.cause,
    );
  }

  /**
   * What is wrong with the filters before asking the API, or null.
   * @param {Filters} filters
   */
  function filterProblem(filters) {
    if (filters.q && ID_LIKE.test(filters.q) && filters.q.length > 36) {
      return 'An envelope id has 36 characters; this is longer.';
    }
    if (filters.q && !ID_LIKE.test(filters.q) && Array.from(filters.q).length < 3) {
      return 'Type at least 3 characters of a name or address, or the start of an envelope id.';
    }
    if (filters.sender && !/^[^\s@]+@[^\s@]+$/.test(filters.sender)) {
      return 'The sender filter takes a whole e-mail address.';
    }
    return null;
  }

  /**
   * Lists the transfers the filters match, newest first. A search started later wins over one
   * still under way.
   * @param {Filters} filters
   * @param {string | null} [cursor]
   */
  async function runSearch(filters, cursor) {
    const run = ++search.run;
    const problem = filterProblem(filters);
    byId('search-error').textContent = problem || '';
    if (problem) {
      clearResults();
      return;
    }
    if (!hasFilters(filters)) {
      // Without a filter the list would repeat every row above; it waits for one.
      search.filters = filters;
      search.items = [];
      search.nextCursor = null;
      renderResults();
      return;
    }
    /** @type {TransferPage} */
    let page;
    try {
      page = await api('GET', 'admin/transfers?' + query({ ...filters, limit: SEARCH_PAGE, cursor: cursor }));
    } catch (error) {
      if (run === search.run && !(error instanceof SignedOut) && error instanceof Error) {
        byId('search-error').textContent = error.message;
        clearResults();
        return;
      }
      throw error;
    }
    if (run !== search.run) return;
    search.filters = filters;
    search.items = cursor ? search.items.concat(page.items) : page.items;
    search.nextCursor = page.nextCursor;
    renderResults();
  }

  /** The list goes while the filters are not valid: the rows shown would not be what they say. */
  function clearResults() {
    clear(byId('results'));
    byId('results-count').textContent = '';
    show('results-more', false);
  }

  function renderResults() {
    const container = clear(byId('results'));
    const n = search.items.length;
    byId('results-count').textContent =
      n === 0
        ? hasFilters(search.filters)
          ? 'No transfer matches these filters.'
          : 'Search, or choose a filter, to list transfers.'
        : (n === 1 ? '1 transfer' : n + ' transfers') +
          (search.nextCursor ? ' shown, newest first; more match.' : ' match.');
    show('results-more', Boolean(search.nextCursor));
    if (n === 0) return;
    container.appendChild(
      table(
        'Matching transfers',
        ['Envelope', 'Platform', 'Sender', 'State', 'Cause', 'Updated', 'Actions'],
        search.items.map((item) =>
          h('tr', { 'data-transfer-id': item.id }, [
            envelopeCell(item),
            cell(item.platform),
            cell(senderText(item.senderEmail)),
            cell(stateBadge(item.state)),
            cell(
              item.cause ? h('code', { text: item.cause }) : h('span', { className: 'muted', text: DASH }),
            ),
            cell(time(item.updatedAt)),
            h('td', { className: 'actions' }, [detailsButton(item)]),
          ]),
        ),
      ),
    );
  }

  /** Applies what the form says: the list, and the fragment that links to it. */
  async function applyForm() {
    const filters = filtersFromForm();
    if (!filterProblem(filters)) writeHash(filters);
    try {
      await runSearch(filters);
    } catch (error) {
      failed(error);
    }
  }

  /** @type {number | undefined} */
  let typing;

  /* ---- actions ---- */

  /**
   * @param {TransferView} item
   * @param {HTMLButtonElement} control
   */
  async function retryOne(item, control) {
    control.disabled = true;
    try {
      /** @type {TransferView} */
      const result = await api('POST', 'admin/transfers/' + encodeURIComponent(item.id) + '/retry');
      await reloadAfterChange(
        'Envelope ' + envelopeLabel(item) + ' retried; it is now ' + result.state + '.',
      );
    } catch (error) {
      control.disabled = false;
      failed(error);
    }
  }

  /**
   * @param {Group} group
   * @param {number} total
   * @param {HTMLButtonElement} control
   */
  async function retryGroup(group, total, control) {
    const label = stateName(group.state) + ' / ' + (group.cause || 'no cause');
    if (!window.confirm('Retry up to ' + total + ' transfers in "' + label + '"?')) return;
    control.disabled = true;
    try {
      /** @type {BulkRetryResult} */
      const result = await api('POST', 'admin/transfers/retry', {
        state: [group.state],
        cause: [group.cause === null ? 'none' : group.cause],
        limit: 500,
      });
      await reloadAfterChange(
        'Retried ' +
          result.retried +
          ' transfers in "' +
          label +
          '".' +
          (result.more ? ' More remain: run it again.' : ''),
      );
    } catch (error) {
      control.disabled = false;
      failed(error);
    }
  }

  /** @type {TransferView | null} */
  let dismissing = null;

  /** @param {TransferView} item */
  function openDismiss(item) {
    dismissing = item;
    byId('dismiss-what').textContent =
      'Envelope ' + envelopeLabel(item) + ' (' + stateName(item.state) + '). It will not be retried again.';
    input('dismiss-reason').value = '';
    byId('dismiss-error').textContent = '';
    dialog('dismiss').showModal();
    input('dismiss-reason').focus();
  }

  /** @param {SubmitEvent} event */
  async function submitDismiss(event) {
    event.preventDefault();
    const reason = input('dismiss-reason').value.trim();
    if (reason.length < 3 || reason.length > 500) {
      byId('dismiss-error').textContent = 'Give a reason of 3 to 500 characters.';
      input('dismiss-reason').focus();
      return;
    }
    const item = dismissing;
    if (!item) return;
    const submit = button('dismiss-submit');
    submit.disabled = true;
    try {
      await api('POST', 'admin/transfers/' + encodeURIComponent(item.id) + '/dismiss', { reason: reason });
      dialog('dismiss').close();
      await reloadAfterChange('Envelope ' + envelopeLabel(item) + ' dismissed.');
    } catch (error) {
      if (error instanceof SignedOut) dialog('dismiss').close();
      else byId('dismiss-error').textContent = error instanceof Error ? error.message : String(error);
    } finally {
      submit.disabled = false;
    }
  }

  /**
   * Copies the text, or selects it for Ctrl+C where the browser allows no clipboard access.
   * @param {string} text
   * @param {Element} shown
   */
  async function copy(text, shown) {
    try {
      await navigator.clipboard.writeText(text);
      announce('Copied ' + text);
    } catch {
      const selection = window.getSelection();
      if (selection) selection.selectAllChildren(shown);
      announce('Selected ' + text + '; press Ctrl+C to copy it.');
    }
  }

  /** @param {string} id */
  async function openDetail(id) {
    const body = clear(byId('detail-body'));
    body.appendChild(h('p', { text: 'Loading\u2026' }));
    byId('detail-title').textContent = 'Transfer';
    if (!dialog('detail').open) dialog('detail').showModal();
    try {
      /** @type {TransferDetail} */
      const detail = await api('GET', 'admin/transfers/' + encodeURIComponent(id));
      renderDetail(detail);
    } catch (error) {
      if (error instanceof SignedOut) {
        dialog('detail').close();
        return;
      }
      clear(body).appendChild(
        h('p', { className: 'error', text: error instanceof Error ? error.message : String(error) }),
      );
    }
  }

  /** @param {DocumentView} doc */
  function locationCell(doc) {
    const shown = h('code', { className: 's3-uri', text: doc.s3Uri });
    return h('td', { className: 'location' }, [
      shown,
      h('button', {
        type: 'button',
        className: 'copy',
        text: 'Copy',
        'aria-label': 'Copy the S3 location of ' + doc.fileName,
        onclick: () => copy(doc.s3Uri, shown),
      }),
    ]);
  }

  /** @param {TransferDetail} d */
  function renderDetail(d) {
    const t = d.transfer;
    byId('detail-title').textContent = 'Envelope ' + (t.envelopeName || t.envelopeId);
    /** @type {[string, Child][]} */
    const facts = [
      ['Envelope name', t.envelopeName || h('span', { className: 'muted', text: 'not known yet' })],
      ['Envelope id', h('code', { text: t.envelopeId })],
      ['State', stateBadge(t.state)],
      ['Cause', t.cause ? causeText(t.cause) : DASH],
      ['Last error', t.lastError ? (t.lastErrorClass ? t.lastErrorClass + ': ' : '') + t.lastError : DASH],
      ['Warning', t.warning ? h('span', { className: 'warning', text: t.warning }) : DASH],
      ['Platform', t.platform + (t.envelopeStatus ? ' (envelope ' + t.envelopeStatus + ')' : '')],
      ['Sender', t.senderEmail || 'unknown'],
      ['Attempts', String(t.attempts)],
      ['Next attempt', time(t.nextAttemptAt)],
      ['Created', time(t.createdAt)],
      ['Updated', time(t.updatedAt)],
      ['Archived', time(t.archivedAt)],
      ['Deleted on platform', time(t.platformDeletedAt)],
      ['Finished', time(t.finishedAt)],
      ['Dismissed because', t.dismissedReason || DASH],
      ['Transfer id', h('code', { text: t.id })],
    ];
    const body = clear(byId('detail-body'));
    body.appendChild(
      h(
        'dl',
        {},
        facts.flatMap((f) => [h('dt', { text: f[0] }), h('dd', {}, [f[1]])]),
      ),
    );
    body.appendChild(
      d.documents.length === 0
        ? h('p', { text: 'No documents recorded yet.' })
        : table(
            'Documents',
            ['Kind', 'File', 'S3 location', '#Size', 'SHA-256', 'Verified'],
            d.documents.map((doc) =>
              h('tr', {}, [
                cell(doc.kind),
                cell(doc.fileName),
                locationCell(doc),
                cell(doc.size === null ? DASH : String(doc.size), 'num'),
                cell(h('code', { text: doc.sha256 || DASH })),
                cell(
                  doc.verifiedAt
                    ? time(doc.verifiedAt)
                    : h('span', { className: 'error', text: 'not verified' }),
                ),
              ]),
            ),
          ),
    );
    body.appendChild(
      d.attempts.length === 0
        ? h('p', { text: 'No attempts yet.' })
        : table(
            'Attempts',
            ['#', 'Worker', 'Started', 'Finished', 'Outcome', 'Error'],
            d.attempts.map((a) =>
              h('tr', {}, [
                cell(a.attempt, 'num'),
                cell(a.worker),
                cell(time(a.startedAt)),
                cell(time(a.finishedAt)),
                cell(a.outcome || DASH),
                cell(a.error ? (a.errorClass ? a.errorClass + ': ' : '') + a.error : DASH, 'error-text'),
              ]),
            ),
          ),
    );
    body.appendChild(
      d.callbacks.length === 0
        ? h('p', { text: 'No callbacks received for this envelope.' })
        : table(
            'Callbacks received',
            ['Action', '#Count', 'First', 'Last'],
            d.callbacks.map((c) =>
              h('tr', {}, [
                cell(c.action),
                cell(c.receivedCount, 'num'),
                cell(time(c.firstReceivedAt)),
                cell(time(c.lastReceivedAt)),
              ]),
            ),
          ),
    );
    body.appendChild(h('h3', { text: 'Timeline' }));
    body.appendChild(
      h(
        'ol',
        { className: 'timeline' },
        d.timeline.map((e) => h('li', {}, [time(e.at), ' ' + DASH + ' ' + e.summary])),
      ),
    );
  }

  /* ---- wiring ---- */

  document.addEventListener('DOMContentLoaded', () => {
    if (document.body.getAttribute('data-admin-configured') !== 'true') {
      show('disabled', true);
      return;
    }
    byId('login').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = input('token').value.trim();
      if (!value) {
        byId('login-error').textContent = 'Enter the admin token.';
        return;
      }
      token = value;
      sessionStorage.setItem(TOKEN_KEY, value);
      void signIn();
    });
    byId('signout').addEventListener('click', () => signOut('Signed out.'));
    byId('refresh').addEventListener('click', () => {
      refresh().then(() => announce('Refreshed.'), failed);
    });
    byId('more').addEventListener('click', () => void loadMore());
    byId('detail-close').addEventListener('click', () => dialog('detail').close());
    byId('dismiss-form').addEventListener(
      'submit',
      (event) => void submitDismiss(/** @type {SubmitEvent} */ (event)),
    );
    byId('dismiss-cancel').addEventListener('click', () => dialog('dismiss').close());

    byId('search-form').addEventListener('submit', (event) => {
      event.preventDefault();
      window.clearTimeout(typing);
      void applyForm();
    });
    for (const id of ['search-platform', 'search-state', 'search-cause']) {
      byId(id).addEventListener('change', () => void applyForm());
    }
    byId('search-sender').addEventListener('change', () => void applyForm());
    // Typing searches once the operator pauses.
    byId('search-q').addEventListener('input', () => {
      window.clearTimeout(typing);
      typing = window.setTimeout(() => void applyForm(), 400);
    });
    byId('search-clear').addEventListener('click', () => {
      window.clearTimeout(typing);
      fillForm(noFilters());
      void applyForm();
    });
    byId('results-more').addEventListener('click', () => {
      runSearch(search.filters, search.nextCursor).catch(failed);
    });
    // A link pasted into this tab, or the fragment edited by hand.
    window.addEventListener('hashchange', () => {
      const filters = filtersFromHash();
      fillForm(filters);
      if (token) runSearch(filters).catch(failed);
      else search.filters = filters;
    });

    search.filters = filtersFromHash();
    fillForm(search.filters);
    token = sessionStorage.getItem(TOKEN_KEY);
    if (token) void signIn();
    else signOut('');
  });
})();
