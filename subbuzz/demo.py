"""``subbuzz demo``: the whole pipeline on the local stack with simulated traffic.

Brings the stack up (installing it on first use), migrates, starts a consumer and the server,
publishes a burst of simulated events and then a steady trickle, and prints where to look.
Ctrl-C stops everything the demo started, the stack included (a stack that was already
running before the demo is left running).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from devstack.stack import LocalStack, StackError
from subbuzz.config import CassandraSettings, NsqSettings, StackSettings

SAMPLE_QUERY = """{
  topArticles(limit: 5) { rank views article { id views timeSpentMs avgTimeMs } }
  article(id: "%s") {
    id views timeSpentMs
    subbuzzes { position subbuzzId views avgTimeMs }
    series(granularity: HOUR) { start views }
  }
}"""


# Pre-filled in GraphiQL by the link `make demo` prints (Strawberry's GraphiQL reads ?q= and
# ?variables=).
GRAPHIQL_QUERY = """# subbuzz: the top articles of all time and the leader's drop-off curve.
# Run it with Ctrl-Enter (or the play button); the Docs pane lists every field.
query Dashboard($id: ID!) {
  topArticles(limit: 5) { rank views article { id views avgTimeMs } }
  article(id: $id) {
    id views timeSpentMs avgTimeMs
    subbuzzes { position subbuzzId views avgTimeMs }
    series(granularity: HOUR) { start views }
  }
}
"""

GRAPHIQL_SUBSCRIPTION = """# subbuzz, live: today's top 5 articles (UTC), again on every change.
# Run it with Ctrl-Enter: the results follow the demo's traffic; the stop button ends it.
subscription LiveTop($since: DateTime!) {
  topArticles(since: $since, limit: 5) { rank views timeSpentMs article { id } }
}
"""


def graphiql_link(base: str, query: str, variables: dict[str, object]) -> str:
    """A GraphiQL URL with the query and variables pre-filled."""
    # quote, not urlencode: the page decodes with decodeURIComponent, which keeps '+'.
    encoded = urllib.parse.quote(query, safe="")
    filled = urllib.parse.quote(json.dumps(variables), safe="")
    return f"{base}/graphql?q={encoded}&variables={filled}"


def _panel_built(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False  # 503: the server says `make panel` builds it
    except OSError:
        return False


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline locally with simulated traffic (Ctrl-C stops it)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8000, help="GraphQL server port (8000)")
    parser.add_argument(
        "--burst", type=int, default=20_000, help="events published at start (20000)"
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="events/s of the steady trickle after it (50)"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=60.0,
        help="stop by itself after this many minutes (60); Ctrl-C stops it sooner",
    )
    parser.set_defaults(handler=run)


@dataclass
class _Children:
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], log_path: str) -> subprocess.Popen[bytes]:
        log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the child
        process = subprocess.Popen(
            [sys.executable, "-m", "subbuzz.cli", *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
        )
        self.processes.append((name, process))
        return process

    def stop_all(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            _say(f"{name}: stopped (exit {process.returncode})")


def _say(text: str = "") -> None:
    """Print, unless the terminal or pipe is gone: Ctrl-C also kills a `| tee`, and the
    cleanup after it must still stop every process."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


def _post_graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _todays_leader(url: str, today: str, *, timeout_s: float) -> str | None:
    """Today's most viewed article, once the consumer has counted the burst's first flushes
    (the all-time ranking needs a refresh first; today's window is read on demand)."""
    query = f'{{ topArticles(since: "{today}", limit: 1) {{ article {{ id }} }} }}'
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ranked = (_post_graphql(url, query).get("data") or {}).get("topArticles") or []
        except OSError:
            ranked = []
        if ranked:
            return str(ranked[0]["article"]["id"])
        time.sleep(1)
    return None


def _wait_http(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def run(args: argparse.Namespace) -> int:
    stack = LocalStack(StackSettings.from_env())
    settings = stack.settings
    already_running = bool(stack.running_pids())
    children = _Children()
    logs = settings.state_dir / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)  # the terminal closed
    try:
        print("== 1/5 local stack (first run installs Cassandra and NSQ into the cache)")
        stack.install()
        stack.up()
        print("== 2/5 schema")
        code = subprocess.call([sys.executable, "-m", "subbuzz.cli", "migrate"])
        if code != 0:
            return code
        print("== 3/5 consumer and server")
        children.start("consumer", ["consume"], str(logs / "consumer.log"))
        children.start("server", ["serve", "--port", str(args.port)], str(logs / "server.log"))
        base = f"http://127.0.0.1:{args.port}"
        if not _wait_http(f"{base}/healthz", 60):
            print(f"the server did not start; see {logs / 'server.log'}", file=sys.stderr)
            return 1
        print(f"== 4/5 simulated traffic: {args.burst} events now, then {args.rate}/s")
        burst = subprocess.call(
            [sys.executable, "-m", "subbuzz.cli", "simulate", "-n", str(args.burst), "--seed", "1"]
        )
        if burst != 0:
            return burst
        children.start(
            "simulator",
            [
                "simulate",
                "--rate",
                str(args.rate),
                "--duration",
                str(args.minutes * 60),
                "--seed",
                "2",
            ],
            str(logs / "simulator.log"),
        )
        today = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
        top_id = _todays_leader(f"{base}/graphql", today, timeout_s=30) or "article-0"
        keyspace = CassandraSettings.from_env().keyspace
        print("== 5/5 where to look")
        panel_note = "" if _panel_built(f"{base}/panel/") else "   (not built: run `make panel`)"
        print(f"  Panel:      {base}/panel/   (live top articles and drop-off curves){panel_note}")
        print("  GraphiQL, example query pre-filled (Ctrl-Enter runs it):")
        print(f"    {graphiql_link(base, GRAPHIQL_QUERY, {'id': top_id})}")
        print("  GraphiQL, a live subscription pre-filled:")
        print(f"    {graphiql_link(base, GRAPHIQL_SUBSCRIPTION, {'since': today})}")
        print(f"  Metrics:    {base}/metrics (server); consumer: see `subbuzz consume --help`")
        nsq = NsqSettings.from_env()
        nsqadmin = f"http://{settings.host}:{settings.nsqadmin_http_port}"
        print(f"  nsqadmin:   {nsqadmin}/topics/{nsq.topic}   (depth and in-flight per channel)")
        print(f"              {nsqadmin}/topics/{nsq.dead_letter_topic}   (dead letters)")
        cqlsh = f".venv/bin/cqlsh {settings.host} {settings.cassandra_port}"
        print(f"  cqlsh:      {cqlsh} -k {keyspace}   (interactive; try DESCRIBE TABLES)")
        print(f'              {cqlsh} -e "SELECT * FROM {keyspace}.article_totals LIMIT 10"')
        print(f"  Logs:       {logs}/ and {settings.state_dir}/")
        print("  The same query for curl or a script:")
        print("    " + (SAMPLE_QUERY % top_id).replace("\n", "\n    "))
        print("Running; press Ctrl-C to stop everything the demo started.", flush=True)
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline:
            for name, process in children.processes:
                if process.poll() is not None and name != "simulator":
                    print(f"{name} exited ({process.returncode}); see {logs}", file=sys.stderr)
                    return 1
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        interrupted = True
        return 0
    except StackError as exc:
        print(f"subbuzz demo: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup
        _say("\nstopping" + (" (Ctrl-C)" if interrupted else ""))
        children.stop_all()
        if already_running:
            _say("the stack was running before the demo: left running (subbuzz stack down)")
        else:
            stack.down(progress=_say)
        signal.signal(signal.SIGINT, signal.default_int_handler)
