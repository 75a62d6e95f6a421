"""Loader cache on disk (diskcache) with explicit timeouts, invalidated by mart rebuilds.

Every cached value's key carries the data version, so a rebuild makes old entries unreachable at
once; ``clear()`` also drops them from disk. The version is made of tokens from *version
providers* — callables ``(db) -> str`` injected by ``create_app()`` (the mart build log, the
target history) — so this storage module depends on nothing above it.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import diskcache

from .db import Database


class Cache:
    def __init__(self, directory: Path, timeout: int, db: Database,
                 versions: Sequence[Callable[[Database], str]] = ()):
        self.directory = Path(directory)
        self.timeout = timeout
        self.db = db
        self.versions = tuple(versions)  # each gives a token that changes when its data change
        self._store: diskcache.Cache | None = None
        self._version: tuple[float, str] | None = None
        self._memory: OrderedDict = OrderedDict()
        self._memory_lock = threading.Lock()

    @property
    def store(self) -> diskcache.Cache:
        if self._store is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._store = diskcache.Cache(str(self.directory), size_limit=2 ** 30)
        return self._store

    def data_version(self) -> str:
        """The tokens of all version providers joined, re-read at most every few seconds."""
        now = time.monotonic()
        if self._version is None or now - self._version[0] > 5:
            # e.g. marts rebuilt or a target changed: every cached value computed before is stale
            self._version = (now, "|".join(v(self.db) for v in self.versions))
        return self._version[1]

    def touch(self) -> None:
        """Re-read the version at once (after a change made by this process)."""
        self._version = None

    def _key(self, fn, args, kwargs) -> str:
        raw = pickle.dumps((fn.__module__, fn.__qualname__, self.db.url, self.data_version(), args,
                            sorted(kwargs.items())))
        return "iam:" + hashlib.sha256(raw).hexdigest()

    def remember(self, fn: Callable, args: tuple, kwargs: dict):
        """Keep small static lookups (reference data) in this process's memory, per data version."""
        key = self._key(fn, args, kwargs)
        with self._memory_lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return copy.deepcopy(self._memory[key])
        value = fn(*args, **kwargs)
        with self._memory_lock:
            self._memory[key] = value
            while len(self._memory) > 512:
                self._memory.popitem(last=False)
        return copy.deepcopy(value)

    def memoize(self, fn: Callable, args: tuple, kwargs: dict, timeout: int | None = None):
        if self.timeout <= 0:  # CACHE_TIMEOUT=0 switches caching off (benchmarks, debugging)
            return fn(*args, **kwargs)
        key = self._key(fn, args, kwargs)
        hit = self.store.get(key, default=None)
        if hit is not None:
            return pickle.loads(hit)
        value = fn(*args, **kwargs)
        self.store.set(key, pickle.dumps(value), expire=timeout or self.timeout)
        return value

    def clear(self) -> None:
        self._version = None
        with self._memory_lock:
            self._memory.clear()
        self.store.clear()


def cached(timeout: int | None = None, memory: bool = False):
    """Cache a loader in the current app's cache; a fresh copy is returned each time.

    ``memory=True`` is for small static reference lookups: kept in process memory (per data
    version) even when the disk cache is switched off.
    """
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            from flask import current_app, has_app_context
            if not has_app_context():
                return fn(*args, **kwargs)
            cache: Cache = current_app.extensions["iam"]["cache"]
            if memory:
                return cache.remember(fn, args, kwargs)
            return cache.memoize(fn, args, kwargs, timeout)
        wrapper.uncached = fn
        return wrapper
    return deco
