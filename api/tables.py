"""``/api/v1/<subject>/<part>``: the subject pages' tables as JSON, from the same builders as the
pages and the exports (so the API, the screen and the file agree)."""
from __future__ import annotations

import datetime as dt
from functools import partial

import numpy as np
from flask import jsonify

from components.tablespec import build
from security import current_scope

from . import ApiError, blueprint, query_args

# subject → (part → table builder, accepted query parameters)
SUBJECTS = {
    "emk": ({"coverage": "emk-coverage", "funnel": "emk-funnel", "timeliness": "emk-timeliness",
             "reasons": "emk-reasons", "silent": "emk-silent"}, {"level", "id", "period"}),
    "access": ({"children": "access-children", "specialties": "access-specialties", "channels": "access-channels",
                "nearest": "access-nearest", "not-bookable": "access-not-bookable", "slots": "access-slots"},
               {"level", "id", "mo", "period", "date"}),
    "pregnancy": ({"register": "preg-register", "status": "preg-status", "worklist": "preg-worklist"},
                  {"level", "id", "period", "date", "weeks"}),
    "morbidity": ({"places": "morb-places", "tree": "morb-tree", "top": "morb-top", "growth": "morb-growth",
                   "age-sex": "morb-age-sex"}, {"level", "id", "period", "icd", "sex", "age"}),
    "prevention": ({"vaccination": "prev-calendar", "vaccination-units": "prev-vacc-units",
                    "dispensary": "prev-disp-units", "dispensary-months": "prev-disp-months", "form-1000": "prev-form1000",
                    "children": "prev-children", "screening": "prev-screening", "screening-units": "prev-screen-units",
                    "worklist": "prev-worklist", "areas": "prev-areas"},
                   {"level", "id", "period", "program", "date", "kinds"}),
    "registers": ({"summary": "reg-summary", "units": "reg-units", "patients": "reg-patients"},
                  {"level", "id", "period", "register", "date"}),
    "quality": ({"criteria": "quality-criteria", "units": "quality-units", "criterion-units": "quality-criterion-units",
                 "cases": "quality-cases", "volumes": "vol-units", "volume-months": "vol-months"},
                {"level", "id", "period", "criterion", "result"}),
}


def plain(v):
    """A JSON value for a table cell: NumPy scalars unwrapped, NaN as null, dates as ISO strings."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _row(spec, r: dict) -> dict:
    out = {c["id"]: plain(r.get(c["id"])) for c in spec.columns}
    unit_id = r.get("child_id", r.get("place_id"))  # the unit a row stands for (-1: the city as a standard)
    return out | ({"id": plain(unit_id)} if unit_id is not None else {})


def table_json(spec) -> dict:
    return {"title": spec.title, "subtitle": spec.subtitle, "params": spec.params,
            "columns": [{"id": c["id"], "name": c["name"]} for c in spec.columns],
            "rows": [_row(spec, r) for r in spec.records]}


def subject_table(subject: str, part: str):
    """One table of a subject; bad parameters are 400, unknown units 404, units outside the scope 403."""
    parts, accepted = SUBJECTS[subject]
    if part not in parts:
        raise ApiError(404, f"Раздела «{part}» нет; есть: {', '.join(parts)}")
    return jsonify(table_json(build(parts[part], query_args(accepted), current_scope())))


for _subject in SUBJECTS:
    blueprint.add_url_rule(f"/{_subject}/<part>", f"{_subject}_table", partial(subject_table, _subject))
