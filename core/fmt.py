"""Russian number and date formats: «12 345,6», «01.10.2026», «окт 2026»."""
from __future__ import annotations

import datetime as dt
import math

NBSP = "\u00a0"
MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
          "ноябрь", "декабрь"]
MONTHS_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
              "ноября", "декабря"]
MONTHS_SHORT = ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]


def number(x, decimals: int = 0, sign: bool = False) -> str:
    """12345.6 → «12 345,6» (thin grouping with a no-break space, decimal comma); None → «—»."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "—"
    text = f"{abs(x):,.{decimals}f}".replace(",", NBSP).replace(".", ",")
    if x < 0 and text.strip("0,\u00a0"):
        return "−" + text
    return ("+" + text) if sign and x > 0 else text


def percent(x, decimals: int = 1, sign: bool = False) -> str:
    return "—" if x is None else number(x, decimals, sign) + NBSP + "%"


def date(d: dt.date | None) -> str:
    return "—" if d is None else f"{d:%d.%m.%Y}"


def datetime(d: dt.datetime | None) -> str:
    return "—" if d is None else f"{d:%d.%m.%Y %H:%M}"


def month_name(d: dt.date) -> str:
    return f"{MONTHS[d.month - 1]} {d.year}"


def month_short(d: dt.date) -> str:
    return f"{MONTHS_SHORT[d.month - 1]} {d.year}"


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural form for n: 1 организация, 2 организации, 5 организаций."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
