"""The panel in a real browser (Debian's headless Chromium, driven by Playwright) against the
real pipeline: simulate -> nsqd -> consume -> Cassandra -> serve -> /panel and /graphql.

Needs `make browser` (Chromium) and `make panel` (the built panel); `make test` runs both. A
missing browser or panel is a failure, never a skip. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, Route, sync_playwright

from server.panel import DEFAULT_DIR
from subbuzz.config import CassandraSettings, NsqSettings
from tests.integration.graphql_support import running_app
from tests.integration.helpers import consumer_and_server, own_keyspace, simulate

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# As on this machine's probe: no background traffic (the network is closed), a fresh profile
# (Playwright makes one per launch), no sandbox (CI runs as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TOP_QUERY = """query($by: ArticleMetric!, $since: DateTime!, $until: DateTime!) {
  topArticles(by: $by, since: $since, until: $until, limit: 20) { rank views article { id } }
}"""
ARTICLE_QUERY = """query($id: ID!) {
  article(id: $id) { id views subbuzzes { position subbuzzId views } }
}"""


def _gql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _article_views(url: str, ids: list[str]) -> dict[str, int | None]:
    data = _gql(url, "query($ids: [ID!]!) { articles(ids: $ids) { id views } }", {"ids": ids})
    return {
        article_id: None if found is None else found["views"]
        for article_id, found in zip(ids, data["articles"], strict=True)
    }


def _publish(nsq: NsqSettings, events: list[dict[str, Any]]) -> None:
    body = "\n".join(json.dumps(event) for event in events).encode()
    response = httpx.post(
        f"http://{nsq.nsqd_http_address}/mpub", params={"topic": nsq.topic}, content=body
    )
    assert response.text == "OK", response.text


@pytest.fixture
def pipeline(
    subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, int]]]:
    """A consumer and a server on a keyspace and topic of this test's own (the page ranks
    everything counted, so other tests' data must not be there), fed 2,000 simulated events;
    yields the server's base URL once every event reads back, with the published views."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    assert (DEFAULT_DIR / "index.html").is_file(), "the panel is not built: run `make panel`"
    with (
        own_keyspace(subprocess_env) as env,
        consumer_and_server(subbuzz_exe, env, tmp_path) as running,
    ):
        events = simulate(
            subbuzz_exe, env, tmp_path / "events.jsonl", count=2000, seed=11, articles=25
        )
        views: dict[str, int] = defaultdict(int)
        for event in events:
            views[event["article_id"]] += 1
        ids = sorted(views)
        deadline = time.monotonic() + 90
        while _article_views(running.graphql, ids) != views:
            assert running.consumer.poll() is None, "the consumer died"
            assert time.monotonic() < deadline, "the simulated events were not all counted"
            time.sleep(0.5)
        yield running.base, dict(views)


def _shown_top(page: Page) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = page.eval_on_selector_all(
        "#top tr[data-article-id]",
        "rows => rows.map(row => [row.dataset.articleId, Number(row.dataset.views)])",
    )
    return [(article_id, views) for article_id, views in rows]


def _graphql_top(graphql: str, page: Page) -> list[tuple[str, int]]:
    window = page.eval_on_selector(
        "#top",
        "top => ({by: top.dataset.metric, since: top.dataset.since, until: top.dataset.until})",
    )
    ranked = _gql(graphql, TOP_QUERY, window)["topArticles"]
    return [(row["article"]["id"], row["views"]) for row in ranked]


def _wait_until(what: str, condition: Any, timeout_s: float, step_s: float = 0.1) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout_s``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, f"{what}: not within {timeout_s} s"
        time.sleep(step_s)
    return time.monotonic() - started


def test_panel_shows_live_graphql_data_in_chromium(
    pipeline: tuple[str, dict[str, int]], nsq_settings: NsqSettings
) -> None:
    base, published = pipeline
    graphql = f"{base}/graphql"
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            response = page.goto(f"{base}/panel/")
            assert response is not None and response.status == 200
            page.wait_for_selector("#top[data-state=ready]", timeout=15_000)
            page.wait_for_selector("#article:not([hidden])", timeout=15_000)
            page.wait_for_function(
                "document.getElementById('status').dataset.mode === 'live'", timeout=10_000
            )

            # The ranking on screen is the one GraphQL gives for the window the page shows.
            _wait_until(
                "the ranking shown equals GraphQL's",
                lambda: _shown_top(page) == _graphql_top(graphql, page),
                10,
            )
            shown = _shown_top(page)
            assert len(shown) == min(20, len(published))
            assert shown[0][1] == max(published.values())

            # The position chart has one point per sub-buzz of the chosen article.
            chosen = page.get_attribute("#article", "data-article-id")
            assert chosen == shown[0][0], "the first ranked article is chosen by default"
            article = _gql(graphql, ARTICLE_QUERY, {"id": chosen})["article"]
            subbuzzes = article["subbuzzes"]
            assert len(subbuzzes) >= 5
            chart = page.evaluate(
                "() => { const chart = window.subbuzzPanel.charts.position;"
                " return {labels: chart.data.labels, views: chart.data.datasets[0].data,"
                " average: chart.data.datasets[1].data.length}; }"
            )
            assert chart["labels"] == [str(row["position"]) for row in subbuzzes]
            assert chart["views"] == [row["views"] for row in subbuzzes]
            assert chart["average"] == len(subbuzzes)
            assert page.get_attribute("#position-figure", "data-point-count") == str(len(subbuzzes))
            series_points = page.get_attribute("#series-figure", "data-point-count")
            assert series_points is not None and int(series_points) >= 24
            page.screenshot(path=str(ARTIFACTS / "panel-1280-before.png"), full_page=True)

            # A new batch of events for the chosen article: the page follows without a reload.
            page.evaluate("window.__notReloaded = true")
            batch = 40
            now_ms = int(time.time() * 1000)
            _publish(
                nsq_settings,
                [
                    {
                        "event_id": f"panel-{uuid.uuid4().hex}",
                        "ts": now_ms,
                        "article_id": chosen,
                        "subbuzz_id": subbuzzes[index % 3]["subbuzzId"],
                        "position": subbuzzes[index % 3]["position"],
                        "time_ms": 1500,
                    }
                    for index in range(batch)
                ],
            )
            expected = article["views"] + batch
            _wait_until(
                "GraphQL counts the new batch",
                lambda: _article_views(graphql, [chosen])[chosen] == expected,
                60,
                0.05,
            )
            article_delay = _wait_until(
                "the article's views on the page",
                lambda: page.get_attribute("#article", "data-views") == str(expected),
                2.0,
                0.05,
            )
            top_delay = _wait_until(
                "the ranking's views on the page",
                lambda: dict(_shown_top(page)).get(chosen) == shown[0][1] + batch,
                3.5,  # the ranking cache (2 s) plus the stream's tick
                0.05,
            )
            print(
                f"shown {article_delay:.2f} s (article) and {top_delay:.2f} s (ranking) "
                "after GraphQL counted the batch"
            )
            new_points = page.evaluate("window.subbuzzPanel.charts.position.data.datasets[0].data")
            assert sum(new_points) == sum(row["views"] for row in subbuzzes) + batch
            assert page.evaluate("window.__notReloaded") is True
            page.screenshot(path=str(ARTIFACTS / "panel-1280.png"), full_page=True)

            # A phone: the same page, nothing wider than the screen.
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page is {width} px wide on a 390 px screen"
            page.screenshot(path=str(ARTIFACTS / "panel-390.png"), full_page=True)

            # An empty window reads as such, not as an error.
            page.set_viewport_size({"width": 1280, "height": 900})
            page.select_option("#range", "custom")
            page.fill("#from", "2001-01-01")
            page.fill("#to", "2001-01-02")
            page.dispatch_event("#to", "change")
            page.wait_for_selector("#top[data-state=empty]", timeout=10_000)
            assert "No views counted on 2001-01-01 to 2001-01-02" in page.inner_text("#top")

            # When the WebSocket fails, the panel polls over HTTP and still shows the ranking.
            polled = browser.new_page(viewport={"width": 1280, "height": 900})
            polled.on("console", on_console)
            polled.on("pageerror", on_page_error)
            polled.route_web_socket("**/graphql", lambda socket: socket.close())
            polled.goto(f"{base}/panel/")
            polled.wait_for_selector("#top[data-state=ready]", timeout=15_000)
            polled.wait_for_selector("#status[data-mode=polling]", timeout=10_000)
            _wait_until(
                "the polled ranking equals GraphQL's",
                lambda: _shown_top(polled) == _graphql_top(graphql, polled),
                10,
            )

            # No API at all: a readable error, not a blank page.
            broken = browser.new_page(viewport={"width": 390, "height": 844})
            broken.on("pageerror", on_page_error)
            broken.route_web_socket("**/graphql", lambda socket: socket.close())
            broken.route(
                "**/graphql",
                lambda route: route.fulfill(status=503, body="down", content_type="text/plain"),
            )
            broken.goto(f"{base}/panel/")
            broken.wait_for_selector("#top[data-state=error]", timeout=15_000)
            assert "Could not load the ranking" in broken.inner_text("#top")
            broken.screenshot(path=str(ARTIFACTS / "panel-390-error.png"))
        finally:
            browser.close()
    assert problems == []


def test_panel_route_says_how_to_build_a_missing_panel(
    cassandra_settings: CassandraSettings, tmp_path: Path
) -> None:
    with running_app(cassandra_settings, panel_dir=str(tmp_path)) as client:
        missing = client.get("/panel/")
        assert missing.status_code == 503
        assert "make panel" in missing.text
        (tmp_path / "index.html").write_text("<!doctype html><title>built</title>")
        redirected = client.get("/panel", follow_redirects=False)
        assert redirected.status_code in {307, 308}
        assert redirected.headers["location"].endswith("/panel/")
        built = client.get("/panel/")
        assert built.status_code == 200
        assert "<title>built</title>" in built.text


def test_graphiql_works_without_internet_access(
    subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    """GraphiQL at /graphql loads everything from this server (the copies `make panel`
    vendors), runs a query and shows its answer, with every request off loopback refused."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    assert (DEFAULT_DIR / "vendor").is_dir(), "GraphiQL's files are not vendored: `make panel`"
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    problems: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with (
        own_keyspace(subprocess_env) as env,
        consumer_and_server(subbuzz_exe, env, tmp_path) as running,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.route("**/*", only_loopback)
            response = page.goto(running.graphql)
            assert response is not None and response.status == 200
            page.wait_for_selector(".graphiql-container", timeout=15_000)
            # Replace the editor's text with a query and run it (GraphiQL's own shortcut).
            editor = page.locator(".graphiql-query-editor .CodeMirror").first
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.type('{ article(id: "never-counted") { id } }')
            page.keyboard.press("Control+Enter")
            page.wait_for_function(
                "document.querySelector('.result-window')?.innerText.includes('\"article\": null')",
                timeout=15_000,
            )
            page.screenshot(path=str(ARTIFACTS / "graphiql-offline.png"))
        finally:
            browser.close()
    assert outside == [], f"GraphiQL reached for the internet: {outside}"
    assert problems == []


def test_the_panel_asks_for_a_token_when_the_server_wants_one(
    subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    """With SUBBUZZ_AUTH_TOKENS set, the panel says it needs a token, refuses a wrong one, and
    with the right one shows the ranking live (the token rides the WebSocket's connection_init
    and the polling requests' Authorization header)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    assert (DEFAULT_DIR / "index.html").is_file(), "the panel is not built: run `make panel`"
    token = "panel-test-token-0123456789"
    problems: list[str] = []
    with (
        own_keyspace(subprocess_env) as env,
        consumer_and_server(
            subbuzz_exe, {**env, "SUBBUZZ_AUTH_TOKENS": token}, tmp_path
        ) as running,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.goto(f"{running.base}/panel/")
            page.wait_for_selector("#auth:not([hidden])", timeout=15_000)
            assert page.get_attribute("#status", "data-mode") == "auth"

            page.fill("#token", "not-the-token-0123456789")
            page.click("#auth button")
            page.wait_for_selector("#auth:not([hidden])", timeout=15_000)
            assert "token" in (page.text_content("#auth-note") or "")
            page.screenshot(path=str(ARTIFACTS / "panel-asks-for-token.png"))

            page.fill("#token", token)
            page.click("#auth button")
            page.wait_for_selector("#top[data-state=empty]", timeout=15_000)
            page.wait_for_function(
                "document.getElementById('status').dataset.mode === 'live'", timeout=15_000
            )
            assert page.is_hidden("#auth")
            # Kept for this tab: a reload does not ask again.
            page.reload()
            page.wait_for_selector("#top[data-state=empty]", timeout=15_000)
            assert page.is_hidden("#auth")
            page.screenshot(path=str(ARTIFACTS / "panel-with-token.png"))
        finally:
            browser.close()
    assert problems == []
