"""/panel: the built web panel (``make panel`` builds ``panel/`` into ``panel/dist``).

The panel is static files that talk to /graphql like any other client. Whether it is built is
checked per request, so a server started before ``make panel`` serves it once it exists; until
then every /panel request gets a 503 page that says how to build it.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "panel" / "dist"

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>subbuzz panel: not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto;
padding: 0 1rem">
<h1>The panel is not built</h1>
<p>This server looks for the built panel in <code>{directory}</code> and found no
<code>index.html</code> there.</p>
<p>Build it from the repository with <code>make panel</code> (Node.js and npm), then reload
this page. <code>make demo</code> and <code>make test</code> build it too. Another location:
set <code>SUBBUZZ_PANEL_DIR</code>.</p>
<p>The GraphQL API is unaffected: <a href="/graphql">/graphql</a>.</p>
</body></html>
"""


def panel_directory(configured: str) -> Path:
    return Path(configured).expanduser() if configured else DEFAULT_DIR


class PanelFiles:
    """ASGI app mounted at /panel: the built files, or a 503 page naming ``make panel``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files = StaticFiles(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.directory / "index.html").is_file():
            page = _NOT_BUILT.format(directory=html.escape(str(self.directory)))
            response = HTMLResponse(page, status_code=503, headers={"retry-after": "60"})
            await response(scope, receive, send)
            return
        await self._files(scope, receive, send)
