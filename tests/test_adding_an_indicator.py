"""docs/adding-an-indicator.md, followed literally: one declaration reaches every screen, with no code change."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import dash
import pandas as pd
import plotly.io
import pytest
import sqlalchemy as sa
from flask import g

from data_access import marts as M
from metrics.model import REGISTRY_PATH
from tests.conftest import create_users, login

DOC = Path(__file__).resolve().parent.parent / "docs" / "adding-an-indicator.md"
CODE = "emk_sent_share"
Q2 = [dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)]


def declaration() -> str:
    """The TOML block of the document, between its markers."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- indicator:begin -->\s*```toml\n(.*?)```\s*<!-- indicator:end -->", text, re.S)
    assert block, "the worked example lost its markers"
    return block.group(1)


@pytest.fixture
def app_with_new_indicator(city_copy, make_app, tmp_path):
    registry = tmp_path / "indicators.toml"
    registry.write_text(REGISTRY_PATH.read_text(encoding="utf-8") + "\n" + declaration(), encoding="utf-8")
    app = make_app(city_copy, indicators_file=registry, login_failure_delay=0)
    with app.app_context():
        app.places = create_users(city_copy)
    return app


def render(app, user_login: str, page_module: str, **params) -> str:
    """A page's layout as the signed-in person gets it, serialised (what the browser would receive)."""
    from security import users
    with app.test_request_context("/"):
        g.iam_user = users.by_login(app.extensions["iam"]["db"], user_login)[0]
        tree = dash.page_registry[page_module]["layout"](**params)
        return json.dumps(json.loads(plotly.io.json.to_json_plotly(tree)), ensure_ascii=False)


def test_one_declaration_reaches_every_screen(app_with_new_indicator, city_copy):
    app = app_with_new_indicator
    c = app.test_client()
    assert login(c, "chair").status_code == 302

    # the registry and the indicator's own page
    listed = {i["code"]: i for i in c.get("/api/v1/indicators").get_json()["indicators"]}
    assert listed[CODE]["group"] == "emk" and listed[CODE]["numerator"]["mart"] == "mart_emd_flow"
    page = render(app, "chair", "pages.indicator", code=CODE, level="district", period="2026-Q2")
    assert "Доля созданных СЭМД, отправленных на регистрацию" in page and "ind-problem" not in page

    # the values, against the mart summed by hand
    body = c.get(f"/api/v1/indicators/{CODE}?level=district&period=2026-Q2").get_json()
    flow = city_copy.read_df(sa.select(M.marts.tables["mart_emd_flow"]))
    flow = flow[pd.to_datetime(flow["month"]).dt.date.isin(Q2)].groupby("district_id")[["sent", "created"]].sum()
    rows = {r["unit_id"]: r for r in body["rows"]}
    assert len(rows) == 18
    for d, r in flow.iterrows():
        assert rows[d]["value"] == pytest.approx(r["sent"] / r["created"] * 100)
        assert rows[d]["target"] == 97

    # the CSV export is the same table
    res = c.get(f"/export/indicator.csv?code={CODE}&level=district&period=2026-Q2")
    assert res.status_code == 200
    table = list(csv.DictReader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert len(table) == 18

    # the subject page of its group shows its card, at the city and in a district
    assert f'"code": "{CODE}"' in render(app, "chair", "pages.emk", period="2026-Q2")
    own = app.places["kolpino"]["district_id"]
    assert f'"code": "{CODE}"' in render(app, "kolpino", "pages.emk", period="2026-Q2")
    assert f'"code": "{CODE}"' not in render(app, "chair", "pages.access", period="2026-Q2")  # another group

    # the rating counts it with its weight
    from core.periods import parse_period
    from metrics import evaluate as E
    from services import rating as R
    with app.app_context():
        assert CODE in E.registry()
        r = R.compute("district", parse_period("2026-Q2"))
        lines = {x["code"]: x for x in R.explain(r, own)["lines"]}
    assert lines[CODE]["weight"] == 1 and lines[CODE]["value"] == pytest.approx(rows[own]["value"])


def test_the_default_registry_is_untouched(city_app):
    """Another app's registry does not leak into this one (the registry belongs to its app)."""
    from metrics import evaluate as E
    with city_app.app_context():
        assert CODE not in E.registry()


COUNT_AND_DERIVED = '''
[[indicator]]
code = "visits_total"
type = "count"
name = "Посещения"
group = "load"
method = "Число посещений за период."
unit = "посещений"
direction = "up"
target = 0
weight = 0
decimals = 0
levels = ["region", "district", "mo", "doctor"]
measure = "visits"

[[indicator]]
code = "emk_late_registration"
type = "derived"
name = "Случаи с СЭМД, зарегистрированным позже суток"
group = "emk"
method = "Доля случаев с зарегистрированным СЭМД минус доля зарегистрированных в течение суток."
unit = "п. п."
direction = "down"
target = 5
weight = 0
levels = ["region", "district", "mo", "doctor"]
formula = "emk_coverage - emk_registered_1d"
'''


def test_count_and_derived_indicators(city_copy, make_app, tmp_path):
    registry = tmp_path / "indicators.toml"
    registry.write_text(REGISTRY_PATH.read_text(encoding="utf-8") + COUNT_AND_DERIVED, encoding="utf-8")
    app = make_app(city_copy, indicators_file=registry, login_failure_delay=0)
    with app.app_context():
        create_users(city_copy)
    c = app.test_client()
    assert login(c, "chair").status_code == 302
    get = lambda code: {r["unit_id"]: r for r in c.get(  # noqa: E731
        f"/api/v1/indicators/{code}?level=district&period=2026-Q2").get_json()["rows"]}
    visits = city_copy.read_df(sa.select(M.marts.tables["mart_visits"]))
    visits = visits[pd.to_datetime(visits["month"]).dt.date.isin(Q2)].groupby("district_id")["visits"].sum()
    counted = get("visits_total")
    assert {d: r["value"] for d, r in counted.items()} == {d: float(v) for d, v in visits.items()}
    late, cov, day = get("emk_late_registration"), get("emk_coverage"), get("emk_registered_1d")
    for d, r in late.items():
        assert r["value"] == pytest.approx(cov[d]["value"] - day[d]["value"])
        assert r["numerator"] is None and r["denominator"] is None
    from core.periods import parse_period  # noqa: F401
    from metrics import evaluate as E
    with app.app_context():
        t = E.trend("emk_late_registration", "region", None, dt.date(2026, 9, 1), 6)
        a = E.trend("emk_coverage", "region", None, dt.date(2026, 9, 1), 6)
        b = E.trend("emk_registered_1d", "region", None, dt.date(2026, 9, 1), 6)
    assert len(t) == 6
    assert t["value"].tolist() == pytest.approx((a["value"] - b["value"]).tolist())


@pytest.mark.parametrize("formula,message", [
    ("emk_coverage - nothing_here", "не объявленные выше"),
    ("__import__('os')", "допустимы коды показателей"),
    ("emk_coverage -", "не разбирается"),
    ("morb_new_100k * 2", "не считается на уровнях"),  # levels beyond its input's
])
def test_a_bad_formula_is_refused_at_start(formula, message):
    import tomllib

    from metrics.model import RegistryError, parse_registry
    data = tomllib.loads(REGISTRY_PATH.read_text(encoding="utf-8"))
    derived = tomllib.loads(COUNT_AND_DERIVED)["indicator"][1] | {"formula": formula}
    data["indicator"].append(derived)
    with pytest.raises(RegistryError, match=message):
        parse_registry(data)
