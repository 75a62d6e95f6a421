"""Serving: gunicorn sizing and start, compression, browser caching, the plotly bundle, readiness marker, warming."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import requests

from config import Config
from tests.conftest import csrf_header

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "components" / "vendor" / "plotly-cartesian-4.1.1.min.js"


def router(path: str, search: str = "") -> dict:
    from bench.load import router as body
    return body(path, search)


@pytest.mark.parametrize("url, cpus, env, expected", [
    ("duckdb:///x.duckdb", 8, {}, (1, 16, False)),  # one process may open the file: one worker, threads
    ("duckdb:///x.duckdb", 2, {"web_workers": 3}, (1, 4, True)),  # refused with a note, one worker
    ("postgresql+psycopg://h/db", 2, {}, (2, 4, False)),
    ("postgresql+psycopg://h/db", 8, {}, (8, 4, False)),
    ("postgresql+psycopg://h/db", 8, {"web_workers": 3, "web_threads": 6}, (3, 6, False)),
])
def test_workers_and_threads_are_sized_for_the_engine(url, cpus, env, expected):
    from cli.serve import sizing
    workers, threads, note = sizing(Config(database_url=url, **env), cpus=cpus)
    assert (workers, threads, note is not None) == expected
    if note:
        assert "DuckDB" in note and "PostgreSQL" in note


def _index(client) -> str:
    return client.get("/").get_data(as_text=True)


def test_bundles_are_compressed_and_cached_for_a_year(client_as):
    c = client_as("analyst")
    html = _index(c)
    suite = re.search(r'src="(/_dash-component-suites/dash/dash-renderer/build/dash_renderer\.v[^"]+)"', html).group(1)
    plain = c.get(suite)
    packed = c.get(suite, headers={"Accept-Encoding": "br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert len(packed.data) < len(plain.get_data()) / 2
    assert packed.headers["Cache-Control"] == "max-age=31536000"
    css = re.search(r'href="(/assets/00_bootstrap\.min\.css\?m=[0-9.]+)"', html).group(1)
    res = c.get(css, headers={"Accept-Encoding": "gzip, br"})  # a file is streamed: brotli, zstd or deflate
    assert res.headers["Content-Encoding"] == "br"
    assert "immutable" in res.headers["Cache-Control"] and "max-age=31536000" in res.headers["Cache-Control"]
    # a callback's answer is compressed too
    ans = c.post("/_dash-update-component", json=router("/emk", "?period=2026-09"),
                 headers={**csrf_header(c), "Accept-Encoding": "gzip"})
    assert ans.status_code == 200 and ans.headers["Content-Encoding"] == "gzip"


def test_the_partial_plotly_bundle_replaces_the_full_one(client_as):
    c = client_as("analyst")
    assert "plotly.min.js" not in _index(c) and "plotly-cartesian" not in _index(c)  # loaded by the first chart
    res = c.get("/_dash-component-suites/plotly/package_data/plotly.min.js")  # where dcc.Graph fetches it
    assert res.status_code == 200 and res.get_data() == BUNDLE.read_bytes()
    assert "max-age=86400" in res.headers["Cache-Control"] and res.headers.get("ETag")


def _trace_types() -> set[str]:
    """Trace types of every figure literal in the presentation code ({"type": ..., "x"/"y"/"z"/"labels": ...})."""
    found = set()
    for folder in ("pages", "components", "reports"):
        for path in (ROOT / folder).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Dict):
                    continue
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                if "type" in keys and keys & {"x", "y", "z", "labels", "values"}:
                    value = node.values[[getattr(k, "value", None) for k in node.keys].index("type")]
                    if isinstance(value, ast.Constant):
                        found.add(value.value)
    return found


def test_every_chart_type_is_in_the_bundle():
    bundle = BUNDLE.read_text(encoding="utf-8")
    modules = set(re.findall(r'name:"([a-z0-9]+)"', bundle))
    used = _trace_types()
    assert {"bar", "scatter", "heatmap", "pie", "box"} <= used  # the scan finds the charts
    assert used <= modules, f"trace types missing from the cartesian bundle: {used - modules}"
    assert "funnel" not in modules and "treemap" not in modules  # the check can fail


def _markers(node) -> list[str]:
    """``data-url`` of every readiness marker in a router answer."""
    if isinstance(node, dict):
        if node.get("id") == "page-ready":
            return [node["data-url"]]
        return [u for v in node.values() for u in _markers(v)]
    if isinstance(node, list):
        return [u for v in node for u in _markers(v)]
    return []


def test_every_page_render_ends_with_the_marker_of_its_address(client_as):
    c = client_as("kolpino")
    c.get("/api/v1/meta")  # the CSRF cookie
    for path, search in (("/emk", "?period=2026-09"), ("/", ""), ("/indicator/emk_coverage", "?level=mo&period=2026-09")):
        res = c.post("/_dash-update-component", json=router(path, search), headers=csrf_header(c))
        assert res.status_code == 200
        assert _markers(res.get_json()) == [f"{path}{search}"], path


def test_the_page_container_dims_under_a_delayed_spinner():
    from components.shell import LOADING_DELAY_MS, loading
    box = loading("x", target={"_pages_content": "children"}, id="page-loading")
    assert box.delay_show == LOADING_DELAY_MS > 0
    assert box.target_components == {"_pages_content": "children"}
    assert box.overlay_style["visibility"] == "visible" and box.overlay_style["opacity"] < 1  # old content stays, dimmed
    # the page container dims at once by CSS on Dash's loading flag, so its spinner does not dim it twice
    css = (ROOT / "assets" / "02_loading.css").read_text(encoding="utf-8")
    assert re.search(r'#_pages_content\[data-dash-is-loading="true"\]\s*\{[^}]*opacity: 0\.45', css)
    assert "opacity" not in loading("x", dim=False).overlay_style


def test_a_long_table_ships_its_first_rows_with_a_note():
    from components.tablespec import TableSpec, section
    spec = TableSpec("t", "Таблица", "", [{"id": "n", "name": "N"}], [{"n": i} for i in range(1234)])
    box = section(spec, "tbl", limit=500)
    table = next(ch for ch in box.children if getattr(ch, "id", None) == "tbl")
    assert [r["n"] for r in table.data] == list(range(500))
    note = next(ch for ch in box.children if getattr(ch, "id", None) == "tbl-limited")
    assert "500 из 1\xa0234" in note.children
    short = section(TableSpec("t", "Т", "", spec.columns, spec.records[:10]), "tbl", limit=500)
    assert not any(getattr(ch, "id", None) == "tbl-limited" for ch in short.children)


def test_warming_computes_what_a_person_then_opens(city_copy, make_app):
    """After warming, a district head's and the committee's first opens add nothing to the cache: all was there."""
    from cli.warm import warm
    from tests.conftest import create_users, login
    app = make_app(city_copy, login_failure_delay=0)
    with app.app_context():
        create_users(city_copy)
    store = app.extensions["iam"]["cache"].store
    result = warm(app, pages=["/emk", "/rating"])
    assert result["failed"] == []
    with app.app_context():
        from data_access import units as U
        assert result["views"] == 2 * (1 + len(U.districts()))
    warmed = set(store.iterkeys())
    assert len(warmed) > 10
    for name in ("kolpino", "chair"):
        c = app.test_client()
        login(c, name)
        c.get("/api/v1/meta")
        for path in ("/emk", "/rating"):
            res = c.post("/_dash-update-component", json=router(path), headers=csrf_header(c))
            assert res.status_code == 200
    assert set(store.iterkeys()) == warmed
    # a view that was not warmed (an organisation's card) does add its values: the comparison can fail
    c = app.test_client()
    login(c, "glavvrach")
    c.get("/api/v1/meta")
    c.post("/_dash-update-component", json=router("/unit"), headers=csrf_header(c))
    assert set(store.iterkeys()) > warmed


def test_the_app_serves_through_gunicorn(city_copy, tmp_path):
    from bench.server import running
    city_copy.dispose()  # the server process opens the database itself
    with running(city_copy.url, tmp_path, up_timeout=90, WARM_CACHE="0") as srv:
        assert srv.first.status_code == 200, srv.log.read_text()
        assert srv.first.headers["Server"].startswith("gunicorn")
        js = requests.get(srv.base + "/_dash-component-suites/plotly/package_data/plotly.min.js",
                          headers={"Accept-Encoding": "gzip, br"}, timeout=10, stream=True)
        assert js.headers["Content-Encoding"] in ("br", "gzip")
        assert len(js.raw.read(decode_content=False)) < BUNDLE.stat().st_size / 2
    assert "Booting worker" in srv.log.read_text()


def test_a_sparkline_is_an_svg_image_scaled_to_its_values():
    from urllib.parse import unquote

    from components.charts import sparkline_svg
    svg = unquote(sparkline_svg([10, 20, None, 30, float("nan"), 15], "#dc3545", width=106, height=40))
    paths = re.findall(r'd="([^"]+)"', svg)
    # 10 → the bottom (40 − 3), 30 → the top (3); the gaps split the line, a lone month is a dot
    assert paths[0] == "M3.0,37.0 L23.0,20.0"
    assert paths[1].startswith("M63.0,3.0")
    assert paths[2].startswith("M103.0,28.5")
    assert len(paths) == 3 and 'stroke="#dc3545"' in svg
    assert "<path" not in unquote(sparkline_svg([None, None], "#000")) and "<svg" in unquote(sparkline_svg([], "#000"))
