"""Database engines for the two supported back ends (DuckDB embedded, PostgreSQL).

One ``Database`` per application; the SQLAlchemy engine is created lazily in each
process, because a forked worker must not reuse its parent's DuckDB handle.
"""
from __future__ import annotations

import contextlib
import decimal
import os
import tempfile
import threading
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url


class DatabaseError(RuntimeError):
    """A database problem explained in Russian for the user or the operator."""


def describe_connect_error(url: str, exc: BaseException) -> str:
    """Turn a driver exception raised on connect into a clear Russian message."""
    text = str(exc)
    name = make_url(url).get_backend_name()
    if name == "duckdb" and ("lock" in text.lower()):
        return ("Файл встроенной базы DuckDB занят другим процессом (вероятно, запущенным "
                "приложением). Остановите его или укажите другой DATABASE_URL. "
                f"Подробности: {text.splitlines()[0]}")
    if name == "postgresql":
        return ("Не удалось подключиться к PostgreSQL по адресу "
                f"{make_url(url).render_as_string(hide_password=True)}: {text.splitlines()[0] if text else exc!r}")
    where = make_url(url).render_as_string(hide_password=True)
    return f"Не удалось открыть базу данных {where}: {text.splitlines()[0] if text else exc!r}"


_WRITE_LOCKS: dict[str, threading.RLock] = {}


class Database:
    """Lazily created engine bound to one URL, safe across fork."""

    def __init__(self, url: str, *, duckdb_memory_limit: str = "4GB", duckdb_threads: int = 2):
        # A bad URL is reported on first use (check/engine), so that the app and its CLI still
        # start and can say what is wrong instead of failing inside the factory.
        self.url = url
        self.error: str | None = None
        self.backend = "invalid"
        try:
            parsed = make_url(url)
            self.backend = parsed.get_backend_name()
        except Exception:  # sqlalchemy.exc.ArgumentError and friends
            self.error = f"Неверный адрес базы данных в DATABASE_URL: «{url}»"
        else:
            if self.backend not in {"duckdb", "postgresql"}:
                self.error = f"Поддерживаются только DuckDB и PostgreSQL, а в DATABASE_URL указан «{self.backend}»"
            elif self.backend == "postgresql" and parsed.drivername == "postgresql":
                # psycopg 3 is the driver the product ships with.
                self.url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self._duck_cfg = {"memory_limit": duckdb_memory_limit, "threads": duckdb_threads}
        self._engine: sa.Engine | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def is_duckdb(self) -> bool:
        return self.backend == "duckdb"

    @contextlib.contextmanager
    def write(self):
        """A transaction for the application's own small writes (users, sessions, tokens, tasks, targets, audit).

        DuckDB admits one process, and its connections conflict optimistically: two transactions that
        touch one row fail the second one ("Conflict on update"). Those writes are serialised by one
        lock per database in this process; PostgreSQL locks rows itself.
        """
        if not self.is_duckdb:
            with self.engine.begin() as conn:
                yield conn
            return
        with _WRITE_LOCKS.setdefault(self.url, threading.RLock()):
            with self.engine.begin() as conn:
                yield conn

    @property
    def engine(self) -> sa.Engine:
        if self.error:
            raise DatabaseError(self.error)
        if self._engine is None or self._pid != os.getpid():
            with self._lock:
                if self._engine is None or self._pid != os.getpid():
                    self._engine = self._create()
                    self._pid = os.getpid()
        return self._engine

    def _create(self) -> sa.Engine:
        if self.is_duckdb:
            path = make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            return sa.create_engine(
                self.url,
                connect_args={"config": dict(self._duck_cfg)},
                # One DuckDB instance per process; a small pool of cursors on it.
                pool_size=5, max_overflow=10,
            )
        return sa.create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    def check(self) -> None:
        """Open a connection once, raising DatabaseError with a clear message on failure."""
        if self.error:
            raise DatabaseError(self.error)
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        except Exception as exc:
            self.dispose()
            raise DatabaseError(describe_connect_error(self.url, exc)) from exc

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def read_df(self, query, params: dict | None = None) -> pd.DataFrame:
        """Run a Core select and return a fresh DataFrame.

        PostgreSQL returns SUM over integers as NUMERIC (Python Decimal); such columns become floats
        here so that both databases give the same frame.
        """
        with self.engine.connect() as conn:
            result = conn.execute(query, params or {})
            cols = list(result.keys())
            # column by column: building a frame from Row objects makes pandas probe every row's
            # attributes (a namedtuple check), which cost more than the query itself on marts
            data = list(zip(*result.fetchall())) or [()] * len(cols)
            df = pd.DataFrame({i: pd.Series(v, dtype=object if not v else None) for i, v in enumerate(data)})
            df.columns = cols
        for col in df.columns:
            if df[col].dtype == object:
                first = df[col].dropna()
                if len(first) and isinstance(first.iloc[0], decimal.Decimal):
                    df[col] = df[col].astype(float)
        return df


def bulk_load(db: Database, table: sa.Table, df: pd.DataFrame) -> int:
    """Append a DataFrame to a contract table by the engine's bulk path.

    DuckDB reads the frame in place (registered as a view); PostgreSQL takes COPY.
    Both are the engines' own loaders: row-by-row INSERTs would cost minutes at city scale.
    """
    if df.empty:
        return 0
    cols = [c.name for c in table.columns if c.name in df.columns]
    missing = [c.name for c in table.columns if c.name not in df.columns and not c.nullable]
    if missing:
        raise ValueError(f"bulk_load({table.name}): missing non-null columns {missing}")
    frame = df[cols]
    raw = db.engine.raw_connection()
    try:
        if db.is_duckdb:
            con = raw.driver_connection
            view = f"_load_{table.name}"
            con.register(view, frame)
            try:
                casts = ", ".join(
                    f'CAST("{c}" AS {table.c[c].type.compile(dialect=db.engine.dialect)})' for c in cols)
                con.execute(f'INSERT INTO "{table.name}" ({", ".join(cols)}) SELECT {casts} FROM {view}')
            finally:
                con.unregister(view)
        else:
            con = raw.driver_connection
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "load.csv")
                # DuckDB writes the CSV about 7× faster than pandas; PostgreSQL then COPYs the file.
                duck = duckdb.connect()
                try:
                    duck.register("frame", frame)
                    duck.execute(f"COPY frame TO '{path}' (HEADER false)")
                finally:
                    duck.close()
                with con.cursor() as cur:
                    cur.execute("SET synchronous_commit = off")
                    with cur.copy(f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN (FORMAT csv)') as cp:
                        with open(path, "rb") as fh:
                            while chunk := fh.read(1 << 23):
                                cp.write(chunk)
        raw.commit()
    finally:
        raw.close()
    return len(frame)
