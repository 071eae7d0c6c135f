"""GraphiQL's page points at the files the panel build vendors, and the build vendors them all."""

import json
import re
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

from server.graphiql import VENDOR_PREFIX, local_urls, remote_urls

ROOT = Path(__file__).resolve().parents[2]
PAGE = get_graphql_ide_html(graphql_ide="graphiql")


def _page_paths() -> list[str]:
    return [url.removeprefix("https://unpkg.com/") for url in remote_urls(PAGE)]


def test_the_page_loads_its_files_from_unpkg_until_pointed_elsewhere() -> None:
    assert len(_page_paths()) >= 5


def test_every_vendored_file_is_served_locally(tmp_path: Path) -> None:
    for path in _page_paths():
        (tmp_path / "vendor" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "vendor" / path).write_text("")
    page = local_urls(PAGE, tmp_path)
    assert remote_urls(page) == []
    for path in _page_paths():
        assert f'"{VENDOR_PREFIX}{path}"' in page


def test_a_file_without_a_copy_stays_on_unpkg(tmp_path: Path) -> None:
    first, *rest = _page_paths()
    for path in rest:
        (tmp_path / "vendor" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "vendor" / path).write_text("")
    assert remote_urls(local_urls(PAGE, tmp_path)) == [f"https://unpkg.com/{first}"]
    assert local_urls(PAGE, tmp_path / "not-built") == PAGE


def test_the_panel_build_vendors_exactly_what_the_installed_strawberry_page_loads() -> None:
    """A strawberry upgrade that wants other files or versions fails here, not in a browser
    without internet: panel/package.json pins the versions, vite.config.js lists the files."""
    config = (ROOT / "panel" / "vite.config.js").read_text()
    listed = re.findall(r"\['([@\w/.-]+)', '([\w/.-]+)'\]", config)
    pinned = json.loads((ROOT / "panel" / "package.json").read_text())["dependencies"]
    vendored = {f"{name}@{pinned[name]}/{path}" for name, path in listed}
    assert vendored == set(_page_paths())
