// Number, duration and UTC day helpers for the panel.

const integer = new Intl.NumberFormat('en-US');

export function formatCount(value) {
  return integer.format(Number(value));
}

/** Milliseconds as a short human duration: 850 ms, 12.3 s, 4 min 05 s, 2.1 h. */
export function formatDuration(ms) {
  const value = Number(ms);
  if (value < 1000) return `${Math.round(value)} ms`;
  const seconds = value / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) {
    const whole = Math.round(seconds);
    return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function utcToday() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function addDays(date, days) {
  return new Date(date.getTime() + days * 86400000);
}

/**
 * The topArticles window for a range choice: since/until as UTC midnights, until exclusive.
 * `from`/`to` are the custom range's inclusive ISO days.
 */
export function dayWindow(choice, from, to) {
  const today = utcToday();
  let first;
  let last;
  if (choice === 'custom' && from && to) {
    first = new Date(`${from}T00:00:00Z`);
    last = new Date(`${to}T00:00:00Z`);
    if (last < first) [first, last] = [last, first];
  } else if (choice === 'today') {
    first = last = today;
  } else {
    const days = Number(choice) || 7;
    first = addDays(today, 1 - days);
    last = today;
  }
  return {
    since: first.toISOString(),
    until: addDays(last, 1).toISOString(),
    label: first.getTime() === last.getTime() ? isoDay(first) : `${isoDay(first)} to ${isoDay(last)}`,
  };
}

export function bucketLabel(start, granularity) {
  const date = new Date(start);
  if (granularity === 'DAY') return isoDay(date).slice(5);
  return `${String(date.getUTCHours()).padStart(2, '0')}:00`;
}
