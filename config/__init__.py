"""Configuration read from environment variables, with safe defaults.

Every setting is documented in README.md (section "Настройка").
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository (this package is config/)
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", ROOT / "instance"))


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on", "да"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


def default_database_url() -> str:
    """The embedded DuckDB file under instance/."""
    return f"duckdb:///{INSTANCE_DIR / 'iam.duckdb'}"


def load_secret_key(instance_dir: Path) -> str:
    """SECRET_KEY from the environment, or one generated once and kept under instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Written with owner-only permissions: the key signs every session cookie.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass
class Config:
    """Settings of one application instance."""

    database_url: str = field(default_factory=lambda: os.environ.get("DATABASE_URL") or default_database_url())
    instance_dir: Path = INSTANCE_DIR
    cache_dir: Path = field(default_factory=lambda: Path(os.environ.get("CACHE_DIR") or INSTANCE_DIR / "cache"))
    cache_timeout: int = field(default_factory=lambda: _int("CACHE_TIMEOUT", 600))
    host: str = field(default_factory=lambda: os.environ.get("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("PORT", 8050))
    # Demo mode: an empty database gets synthetic data and one user per role on first start.
    demo: bool = field(default_factory=lambda: _bool("IAM_DEMO", "DATABASE_URL" not in os.environ))
    demo_scale: float = field(default_factory=lambda: _float("DEMO_SCALE", 0.05))
    demo_months: int = field(default_factory=lambda: _int("DEMO_MONTHS", 27))
    demo_seed: int = field(default_factory=lambda: _int("DEMO_SEED", 42))
    duckdb_memory_limit: str = field(default_factory=lambda: os.environ.get("DUCKDB_MEMORY_LIMIT", "4GB"))
    duckdb_threads: int = field(default_factory=lambda: _int("DUCKDB_THREADS", 2))
    session_cookie_secure: bool = field(default_factory=lambda: _bool("SESSION_COOKIE_SECURE", False))
    login_max_failures: int = field(default_factory=lambda: _int("LOGIN_MAX_FAILURES", 5))
    login_lockout_seconds: int = field(default_factory=lambda: _int("LOGIN_LOCKOUT_SECONDS", 300))
    session_hours: int = field(default_factory=lambda: _int("SESSION_HOURS", 8))
    login_failure_delay: float = field(default_factory=lambda: _float("LOGIN_FAILURE_DELAY", 0.5))
    # The indicator registry (TOML); a copy with one more declaration adds an indicator everywhere.
    indicators_file: Path | None = field(default_factory=lambda: Path(p) if (p := os.environ.get("INDICATORS_FILE")) else None)
    # how many reverse proxies (nginx…) stand in front and set X-Forwarded-For/-Proto; 0: none is trusted
    trusted_proxies: int = field(default_factory=lambda: _int("TRUSTED_PROXIES", 0))
    # Serving: gunicorn by default, Werkzeug's development server only with DEBUG=1.
    debug: bool = field(default_factory=lambda: _bool("DEBUG", False))
    # 0: sized from the CPU count (one worker on the embedded DuckDB, which one process at a time may open)
    web_workers: int = field(default_factory=lambda: _int("WEB_WORKERS", 0))
    web_threads: int = field(default_factory=lambda: _int("WEB_THREADS", 0))
    web_timeout: int = field(default_factory=lambda: _int("WEB_TIMEOUT", 120))
    # a serving process computes the default views of the city and of each district ahead of the first click
    warm_cache: bool = field(default_factory=lambda: _bool("WARM_CACHE", True))
    # scheduled refresh of the marts of the last REFRESH_MONTHS months in the serving process, a crontab line
    # ("0 3 * * *": every night at 03:00); empty: off
    refresh_cron: str = field(default_factory=lambda: os.environ.get("REFRESH_CRON", "").strip())
    refresh_months: int = field(default_factory=lambda: _int("REFRESH_MONTHS", 2))
    # where the running app looks for RMIS extracts to import (POST /api/v1/admin/import names a folder in it)
    import_dir: Path = field(default_factory=lambda: Path(os.environ.get("IMPORT_DIR") or INSTANCE_DIR / "import"))
    testing: bool = False
    secret_key: str | None = None

    def resolve_secret(self) -> str:
        if not self.secret_key:
            self.secret_key = load_secret_key(self.instance_dir)
        return self.secret_key
