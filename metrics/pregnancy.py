"""Pregnancy monitoring through the semantic layer: the register of the months per child unit."""
from __future__ import annotations

import pandas as pd

from data_access import pregnancy as P
from data_access.scope import CITY, Scope

from . import query as Q

REGISTER = ("registered", "registered_lt12", "births", "births_term", "births_preterm", "losses", "births_5visits",
            "s1_due", "s1_in_window", "s2_due", "s2_in_window", "s3_due", "s3_in_window")


def register(level: str, unit_id, months: tuple, scope: Scope = CITY) -> pd.DataFrame:
    """Registrations, outcomes and screenings of the months (from mart_pregnancy), per child unit:
    child_id, the counts, name."""
    n = P.check(level, unit_id, scope)
    q = Q.months_query([f"mart_pregnancy.{m}" for m in REGISTER], ("child",), n, P.PATH, months)
    return Q.answer(q, scope).rename(columns={"child_name": "name"})
