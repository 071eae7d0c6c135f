// The live panel: a ranking of articles for a day range and, for the chosen article, its
// drop-off curve (views and average time in view by position) and its views over time.
// Every value shown comes from the public GraphQL API (see api.js); the data-* attributes
// let tests and scripts read what is on screen.
import './style.css';

import { ApiError, AuthError, POLL_INTERVAL_MS, setToken, watch } from './api.js';
import { positionChart, seriesChart, showPositions, showSeries } from './charts.js';
import { dayWindow, formatCount, formatDuration } from './format.js';

const TOP = `($by: ArticleMetric!, $since: DateTime!, $until: DateTime!) {
  topArticles(by: $by, since: $since, until: $until, limit: 20) {
    rank views timeSpentMs article { id }
  }
}`;

const ARTICLE = `($id: ID!, $granularity: Granularity!) {
  article(id: $id) {
    id views timeSpentMs avgTimeMs
    subbuzzes { position subbuzzId views avgTimeMs }
    series(granularity: $granularity) { start views }
  }
}`;

const $ = (id) => document.getElementById(id);
const elements = {
  status: $('status'),
  range: $('range'),
  customRange: $('custom-range'),
  from: $('from'),
  to: $('to'),
  metric: $('metric'),
  granularity: $('granularity'),
  top: $('top'),
  articleTitle: $('article-title'),
  articleState: $('article-state'),
  article: $('article'),
  totals: $('article-totals'),
  positionFigure: $('position-figure'),
  seriesFigure: $('series-figure'),
  seriesCaption: $('series-caption'),
  auth: $('auth'),
  token: $('token'),
  authNote: $('auth-note'),
};

const state = {
  selected: new URLSearchParams(window.location.hash.slice(1)).get('article'),
  top: null,
  topUpdates: 0,
  article: null,
  articleUpdates: 0,
  modes: {},
};
const charts = {
  position: positionChart($('position-chart')),
  series: seriesChart($('series-chart')),
};
window.subbuzzPanel = { charts, state };

let stopTop = null;
let stopArticle = null;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function describe(error) {
  if (error instanceof AuthError) {
    askForToken(error);
    return 'This server needs a token (enter it above).';
  }
  if (error instanceof ApiError) return `The server refused the request: ${error.message}`;
  return error?.message || String(error);
}

function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
}

// -- transport status -----------------------------------------------------------------------

function setMode(stream, mode) {
  state.modes[stream] = mode;
  const modes = Object.values(state.modes);
  const polling = modes.includes('polling');
  elements.status.dataset.mode = polling ? 'polling' : 'live';
  elements.status.textContent = polling
    ? `Polling every ${POLL_INTERVAL_MS / 1000} s (live updates unavailable)`
    : 'Live';
}

// -- top articles ---------------------------------------------------------------------------

function currentWindow() {
  return dayWindow(elements.range.value, elements.from.value, elements.to.value);
}

function showTopMessage(kind, text) {
  elements.top.dataset.state = kind;
  elements.top.setAttribute('aria-busy', String(kind === 'loading'));
  elements.top.replaceChildren(
    el('p', { class: kind === 'error' ? 'note error' : 'note', role: kind === 'error' ? 'alert' : 'note' }, text),
  );
}

function renderTop(ranked, span) {
  state.top = ranked;
  state.topUpdates += 1;
  const top = elements.top;
  top.dataset.updates = String(state.topUpdates);
  top.setAttribute('aria-busy', 'false');
  if (ranked.length === 0) {
    showTopMessage(
      'empty',
      `No views counted on ${span.label} yet. Articles appear here within seconds of their ` +
        'first counted view.',
    );
    return;
  }
  top.dataset.state = 'ready';
  const metric = elements.metric.value;
  const rows = ranked.map((entry) => {
    const id = entry.article.id;
    const average = Number(entry.views) ? Number(entry.timeSpentMs) / Number(entry.views) : 0;
    return el(
      'tr',
      {
        'data-article-id': id,
        'data-rank': entry.rank,
        'data-views': entry.views,
        'data-time-spent-ms': entry.timeSpentMs,
        class: id === state.selected ? 'selected' : '',
        'aria-selected': String(id === state.selected),
      },
      el('td', { class: 'num' }, String(entry.rank)),
      el(
        'td',
        { class: 'id' },
        el('button', { type: 'button', class: 'link', onclick: () => select(id) }, id),
      ),
      el('td', { class: metric === 'VIEWS' ? 'num ranked' : 'num' }, formatCount(entry.views)),
      el(
        'td',
        { class: metric === 'TIME_SPENT' ? 'num ranked' : 'num' },
        formatDuration(entry.timeSpentMs),
      ),
      el('td', { class: 'num wide-only' }, formatDuration(average)),
    );
  });
  const table = el(
    'table',
    {},
    el('caption', {}, `${span.label} · updated ${clock()}`),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col', class: 'num' }, '#'),
        el('th', { scope: 'col' }, 'Article'),
        el('th', { scope: 'col', class: 'num' }, 'Views'),
        el('th', { scope: 'col', class: 'num' }, 'Time spent'),
        el('th', { scope: 'col', class: 'num wide-only' }, 'Avg / view'),
      ),
    ),
    el('tbody', {}, ...rows),
  );
  top.replaceChildren(el('div', { class: 'table-scroll' }, table));
  if (!state.selected) select(ranked[0].article.id);
}

function startTop() {
  stopTop?.();
  const span = currentWindow();
  const metric = elements.metric.value;
  Object.assign(elements.top.dataset, { since: span.since, until: span.until, metric });
  state.top = null;
  showTopMessage('loading', 'Loading the ranking…');
  stopTop = watch(TOP, { by: metric, since: span.since, until: span.until }, {
    onData: (data) => renderTop(data.topArticles, span),
    onError: (error) => {
      if (state.top === null) {
        showTopMessage('error', `Could not load the ranking. ${describe(error)}`);
      } else {
        const caption = elements.top.querySelector('caption');
        if (caption) caption.textContent = `${span.label} · update failed at ${clock()}: ${describe(error)}`;
      }
    },
    onMode: (mode) => setMode('top', mode),
  });
}

// -- the chosen article ---------------------------------------------------------------------

function showArticleMessage(kind, text) {
  elements.articleState.hidden = false;
  elements.articleState.dataset.state = kind;
  elements.articleState.className = kind === 'error' ? 'note error' : 'note';
  elements.articleState.setAttribute('role', kind === 'error' ? 'alert' : 'note');
  elements.articleState.textContent = text;
}

function renderArticle(article, granularity) {
  state.article = article;
  state.articleUpdates += 1;
  elements.article.dataset.updates = String(state.articleUpdates);
  if (article === null) {
    elements.article.hidden = true;
    showArticleMessage(
      'empty',
      `Nothing has been counted for ${state.selected} yet; this updates as soon as it is.`,
    );
    return;
  }
  elements.articleState.hidden = true;
  elements.articleState.dataset.state = 'ready';
  elements.article.hidden = false;
  elements.article.dataset.articleId = article.id;
  elements.article.dataset.views = article.views;
  elements.totals.replaceChildren(
    el('div', {}, el('dt', {}, 'Views'), el('dd', { 'data-field': 'views' }, formatCount(article.views))),
    el('div', {}, el('dt', {}, 'Time in view'), el('dd', {}, formatDuration(article.timeSpentMs))),
    el('div', {}, el('dt', {}, 'Avg per view'), el('dd', {}, formatDuration(article.avgTimeMs))),
    el('div', {}, el('dt', {}, 'Sub-buzzes'), el('dd', {}, formatCount(article.subbuzzes.length))),
  );
  showPositions(charts.position, article.subbuzzes);
  elements.positionFigure.dataset.pointCount = String(article.subbuzzes.length);
  elements.positionFigure.dataset.positions = JSON.stringify(
    article.subbuzzes.map((row) => row.position),
  );
  showSeries(charts.series, article.series, granularity);
  elements.seriesFigure.dataset.pointCount = String(article.series.length);
  elements.seriesCaption.textContent =
    granularity === 'DAY' ? 'Views per day, last 30 days (UTC)' : 'Views per hour, last 24 hours (UTC)';
}

function startArticle() {
  stopArticle?.();
  stopArticle = null;
  const id = state.selected;
  if (!id) return;
  const granularity = elements.granularity.value;
  elements.articleTitle.textContent = `Article ${id}`;
  state.article = undefined;
  elements.article.hidden = true;
  showArticleMessage('loading', `Loading ${id}…`);
  stopArticle = watch(ARTICLE, { id, granularity }, {
    onData: (data) => renderArticle(data.article, granularity),
    onError: (error) => {
      if (state.article === undefined) {
        showArticleMessage('error', `Could not load ${id}. ${describe(error)}`);
      } else {
        showArticleMessage('error', `Update failed at ${clock()}: ${describe(error)}`);
      }
    },
    onMode: (mode) => setMode('article', mode),
  });
}

function select(id) {
  if (id === state.selected && stopArticle) return;
  state.selected = id;
  history.replaceState(null, '', `#article=${encodeURIComponent(id)}`);
  for (const row of elements.top.querySelectorAll('tr[data-article-id]')) {
    const chosen = row.dataset.articleId === id;
    row.classList.toggle('selected', chosen);
    row.setAttribute('aria-selected', String(chosen));
  }
  startArticle();
}

// -- bearer token (when the server sets SUBBUZZ_AUTH_TOKENS) ---------------------------------

function askForToken(error) {
  if (!elements.auth.hidden) return;
  elements.auth.hidden = false;
  elements.authNote.textContent = elements.token.value ? error.message : '';
  elements.status.dataset.mode = 'auth';
  elements.status.textContent = 'Needs a token';
  elements.token.focus();
}

elements.auth.addEventListener('submit', (event) => {
  event.preventDefault();
  setToken(elements.token.value.trim());
  elements.auth.hidden = true;
  startTop();
  startArticle();
});

// -- controls -------------------------------------------------------------------------------

elements.range.addEventListener('change', () => {
  const custom = elements.range.value === 'custom';
  elements.customRange.hidden = !custom;
  if (custom && !elements.from.value) {
    const week = dayWindow('7');
    elements.from.value = week.since.slice(0, 10);
    elements.to.value = new Date(Date.parse(week.until) - 86400000).toISOString().slice(0, 10);
  }
  startTop();
});
elements.from.addEventListener('change', startTop);
elements.to.addEventListener('change', startTop);
elements.metric.addEventListener('change', startTop);
elements.granularity.addEventListener('change', startArticle);

startTop();
startArticle();
