// The panel's only way to the data: the public GraphQL API on the same origin.
// Live values come from subscriptions (graphql-transport-ws); when the WebSocket cannot be
// opened or drops, the same selection is polled over HTTP and the socket is tried again later.
import { createClient } from 'graphql-ws';

export const POLL_INTERVAL_MS = 2000;
const SOCKET_RETRY_MS = 15000;

let client = null;

const httpUrl = new URL('/graphql', window.location.href).href;
const socketUrl = httpUrl.replace(/^http/, 'ws');

/** A GraphQL error the server answered with (as opposed to a transport failure). */
export class ApiError extends Error {
  constructor(messages) {
    super(messages.join('; '));
    this.name = 'ApiError';
  }
}

/** The server wants a bearer token (SUBBUZZ_AUTH_TOKENS) and got none, or a wrong one. */
export class AuthError extends ApiError {
  constructor(messages) {
    super(messages);
    this.name = 'AuthError';
  }
}

// The token lives in this tab's sessionStorage only. A link may carry it in its fragment
// (#token=…, never sent to a server); it is taken from there and the fragment cleaned.
const TOKEN_KEY = 'subbuzz.token';
{
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.has('token')) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get('token'));
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(null, '', `${window.location.pathname}${window.location.search}${rest ? `#${rest}` : ''}`);
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** Uses `value` from now on (an empty value forgets the token); open streams must restart. */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  client?.dispose();
  client = null;
}

export async function query(document, variables = {}) {
  let response;
  try {
    response = await fetch(httpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token() ? { authorization: `Bearer ${token()}` } : {}),
      },
      body: JSON.stringify({ query: document, variables }),
    });
  } catch {
    throw new Error(`Cannot reach the server at ${httpUrl}.`);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`The server answered ${response.status} without a GraphQL result.`);
  }
  if (body.errors?.length) {
    const messages = body.errors.map((error) => error.message);
    throw response.status === 401 ? new AuthError(messages) : new ApiError(messages);
  }
  if (!response.ok) {
    throw new Error(`The server answered ${response.status}.`);
  }
  return body.data;
}

function socketClient() {
  client ??= createClient({
    url: socketUrl,
    lazy: true,
    // A failed socket is handled here (polling), not by reconnecting in a loop.
    retryAttempts: 0,
    keepAlive: 10000,
    // Browsers cannot set headers on a WebSocket: the token goes in connection_init.
    connectionParams: () => (token() ? { authorization: `Bearer ${token()}` } : {}),
  });
  return client;
}

const forcedPolling = new URLSearchParams(window.location.search).get('transport') === 'poll';

/**
 * Keeps `selection` (a root field with its arguments and sub-selection, valid both as a
 * subscription and as a query) up to date: `onData(data)` on every new value, `onError(error)`
 * for a GraphQL or network error, `onMode('live' | 'polling')` when the transport changes.
 * Returns a function that stops it.
 */
export function watch(selection, variables, { onData, onError, onMode }) {
  const [head, ...rest] = selection.split('\n');
  const subscription = `subscription ${head}\n${rest.join('\n')}`;
  const polled = `query ${head}\n${rest.join('\n')}`;
  let stopped = false;
  let disposeSocket = null;
  let pollTimer = null;
  let retryTimer = null;

  const clearTimers = () => {
    clearTimeout(pollTimer);
    clearTimeout(retryTimer);
    pollTimer = retryTimer = null;
  };

  const poll = () => {
    clearTimers();
    onMode('polling');
    const tick = async () => {
      try {
        onData(await query(polled, variables));
      } catch (error) {
        if (!stopped) onError(error);
      }
      if (!stopped) pollTimer = setTimeout(tick, POLL_INTERVAL_MS);
    };
    tick();
    if (!forcedPolling) {
      retryTimer = setTimeout(() => {
        if (stopped) return;
        clearTimers();
        listen();
      }, SOCKET_RETRY_MS);
    }
  };

  const listen = () => {
    disposeSocket = socketClient().subscribe(
      { query: subscription, variables },
      {
        next: (result) => {
          if (stopped) return;
          onMode('live');
          if (result.errors?.length) {
            onError(new ApiError(result.errors.map((error) => error.message)));
          } else {
            onData(result.data);
          }
        },
        error: (error) => {
          if (stopped) return;
          disposeSocket = null;
          if (Array.isArray(error)) {
            // The server refused the operation itself: polling would be refused too.
            onError(new ApiError(error.map((item) => item.message)));
          } else {
            poll();
          }
        },
        complete: () => {
          if (!stopped) poll();
        },
      },
    );
  };

  if (forcedPolling) poll();
  else listen();

  return () => {
    stopped = true;
    clearTimers();
    disposeSocket?.();
    disposeSocket = null;
  };
}
