"""GraphiQL without internet access: strawberry's page, pointed at local copies of its files.

Strawberry's GraphiQL page loads React, GraphiQL and two small helpers from unpkg.com. The
panel build (``make panel``) copies the same files, byte for byte, to
``panel/dist/vendor/<package>@<version>/<path>``, unpkg's own layout; this module points each
of the page's unpkg URLs at ``/panel/vendor/`` when its copy is there. A URL without a copy
(the panel not built, or a strawberry upgrade wanting other versions) is left as it is, so
the page still works wherever the browser can reach unpkg.
"""

from __future__ import annotations

import re
from pathlib import Path

UNPKG_URL = re.compile(r"https://unpkg\.com/([A-Za-z0-9@._/-]+)")
VENDOR_PREFIX = "/panel/vendor/"


def local_urls(page: str, panel_dir: Path) -> str:
    """``page`` with every unpkg.com URL whose file is vendored under ``panel_dir`` made local."""
    vendor = panel_dir / "vendor"

    def local(match: re.Match[str]) -> str:
        path = match.group(1)
        return VENDOR_PREFIX + path if (vendor / path).is_file() else match.group(0)

    return UNPKG_URL.sub(local, page)


def remote_urls(page: str) -> list[str]:
    """The unpkg.com URLs ``page`` still loads from the internet."""
    return [match.group(0) for match in UNPKG_URL.finditer(page)]
