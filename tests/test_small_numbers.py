"""Small denominators: «мало наблюдений» is shown, but neither ranked nor coloured; units without data apart."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from core.periods import parse_period
from metrics import scoring
from metrics.model import REGISTRY_PATH, RegistryError, parse_registry
from tests.conftest import create_users


def _registry():
    import tomllib
    return parse_registry(tomllib.loads(REGISTRY_PATH.read_text(encoding="utf-8")))


def test_threshold_is_declared_per_indicator_with_a_registry_default():
    text = REGISTRY_PATH.read_text(encoding="utf-8")
    text = re.sub(r'^\[defaults\][^\[]*', "", text, flags=re.M)  # the shipped default, if any, replaced below
    text = re.sub(r'(code = "emk_coverage"\n)', r'\1min_denominator = 7\n', text, count=1)
    import tomllib
    reg = parse_registry(tomllib.loads("[defaults]\nmin_denominator = 25\n" + text))
    assert reg["emk_coverage"].min_denominator == 7  # declared on the indicator
    declared = {d["code"] for d in tomllib.loads(text)["indicator"] if "min_denominator" in d}
    others = [i for i in reg if i.kind in ("ratio", "percentile") and i.code not in declared]
    assert others and all(i.min_denominator == 25 for i in others)  # the registry default
    assert all(i.min_denominator == 0 for i in reg if i.kind in ("count", "derived"))
    assert parse_registry(tomllib.loads(text))["emk_coverage"].min_denominator == 7
    with pytest.raises(RegistryError, match="min_denominator"):
        parse_registry(tomllib.loads("[defaults]\nmin_denominator = \"много\"\n" + text))


def test_status_of_a_small_denominator():
    assert scoring.status(40.0, 95.0, True, few=True) == "few"
    assert scoring.status(None, 95.0, True, few=True) == "none"
    assert scoring.status(99.0, 95.0, True) == "good"


def test_few_rows_have_no_place_and_no_score():
    from components.table import display_frame
    from services.rating import _scores
    reg = _registry()
    ind = reg["emk_coverage"]
    rows = pd.DataFrame({"unit_id": [1, 2, 3, 4], "unit_name": list("АБВГ"), "value": [97.0, 90.0, 100.0, np.nan],
                         "numerator": [97, 90, 12, np.nan], "denominator": [100, 100, 12, np.nan],
                         "previous_value": np.nan, "last_year_value": np.nan, "target": 95.0,
                         "status": ["good", "bad", "few", "none"], "few": [False, False, True, False],
                         "previous_few": False})
    shown = display_frame(rows, ind)
    assert shown["rank"].tolist()[:2] == [1, 2] and shown["rank"].iloc[2:].isna().all()
    cells = _scores(ind, rows, rows["unit_id"], "value", [95.0] * 4)
    assert cells["score"].iloc[0] == 100 and cells["score"].iloc[1] == pytest.approx(90 / 95 * 100)
    assert np.isnan(cells["score"].iloc[2]) and cells["status"].iloc[2] == "few"


@pytest.fixture
def app_with_threshold(city_copy, make_app, tmp_path):
    """The shipped registry with a high threshold on one indicator, so that some doctors fall under it."""
    text = REGISTRY_PATH.read_text(encoding="utf-8")
    text = re.sub(r'(code = "emk_coverage"\n)', r'\1min_denominator = 60\n', text, count=1)
    path = tmp_path / "indicators.toml"
    path.write_text(text, encoding="utf-8")
    app = make_app(city_copy, indicators_file=path, login_failure_delay=0)
    with app.app_context():
        app.places = create_users(city_copy)
    return app


def test_children_put_judged_values_first_then_few_then_none(app_with_threshold):
    from metrics import evaluate as E
    with app_with_threshold.app_context():
        mo = app_with_threshold.places["glavvrach"]["mo_id"]
        rows = E.children(E.Context("emk_coverage", "doctor", parse_period("2026-09"), mo))
    few = rows["few"].to_numpy()
    assert few.any(), "the threshold should put some doctors under it"
    assert (rows.loc[few, "denominator"] < 60).all() and (rows.loc[~few & rows["value"].notna(), "denominator"] >= 60).all()
    tier = np.where(rows["value"].isna(), 2, np.where(few, 1, 0))
    assert (np.diff(tier) >= 0).all()
    assert set(rows.loc[few, "status"]) == {"few"}
    judged = rows[tier == 0]["value"].to_numpy()
    assert (np.diff(judged) <= 1e-9).all()  # best first among the judged
