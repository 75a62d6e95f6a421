"""Monthly activity of the synthetic city: episodes, visits, documents, bookings and slots.

Everything is vectorised over patients, episodes and documents with numpy; the only Python
loops run over months, over the few hundred (district, sex, age) cells, and over fixed
small lists (visit slots of a pregnancy, document kinds).

Modules by subject: ``episodes`` (episodes and visits), ``documents`` (СЭМД and silent windows),
``bookings`` (bookings and slots), ``redirect`` (who of a cell gets the episodes: the registers' enrolled
patients, nobody after his death; see ``synth.registers``); ``generator`` holds the state and rates they share,
``common`` the constants.
"""
from __future__ import annotations

from .documents import silent_windows
from .generator import ActivityGenerator

__all__ = ["ActivityGenerator", "silent_windows"]
