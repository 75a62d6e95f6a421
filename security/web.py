"""The gate in front of every request: sign-in, API tokens, CSRF, and the login page."""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, g, jsonify, redirect, render_template_string, request, session
from flask_login import LoginManager, current_user, login_user, logout_user

from data_access import logins, sessions

from . import audit, tokens, users

PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/login", "/_favicon.ico", "/favicon.ico",
                   "/healthz", "/readyz")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_COOKIE = "_csrf_token"  # dash-renderer copies this cookie into the X-CSRFToken header
# where a role lands after signing in when no page was asked for (``next``); others land on the home page
LANDING = {"hr": "/contract", "hr_committee": "/contract/heads"}

LOGIN_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Вход — ИАМ</title><link rel="stylesheet" href="/assets/00_bootstrap.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 420px; margin-top: 10vh">
<h1 class="h3 mb-1">ИАМ</h1>
<p class="text-muted">Информационно-аналитический модуль здравоохранения Санкт-Петербурга</p>
{% if message %}<div class="alert alert-{{ level }}" role="alert" id="login-message">{{ message }}</div>{% endif %}
<form method="post" action="/login" class="card card-body shadow-sm" id="login-form">
  <input type="hidden" name="csrf_token" value="{{ csrf }}">
  <input type="hidden" name="next" value="{{ next }}">
  <label class="form-label" for="login">Логин</label>
  <input class="form-control mb-3" id="login" name="login" autocomplete="username" required value="{{ login }}">
  <label class="form-label" for="password">Пароль</label>
  <input class="form-control mb-3" id="password" name="password" type="password" autocomplete="current-password" required>
  <div class="form-check mb-3"><input class="form-check-input" type="checkbox" id="remember" name="remember" value="1">
  <label class="form-check-label" for="remember">Запомнить меня на этом компьютере</label></div>
  <button class="btn btn-primary" type="submit" id="login-submit">Войти</button>
</form></main></body></html>"""


def _db():
    from flask import current_app
    return current_app.extensions["iam"]["db"]


def _cfg():
    from flask import current_app
    return current_app.extensions["iam"]["config"]


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    given = request.headers.get("X-CSRFToken") or request.form.get("csrf_token") or ""
    return bool(expected) and hmac.compare_digest(str(expected), str(given))


def safe_next(target: str | None) -> str:
    """A same-site path to go to after sign-in, or «/»: no scheme, no host, no control characters.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so ``/\t/evil.example``
    would become ``//evil.example``: such characters are refused before parsing, not stripped after.
    """
    if not target or any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def _to_login():
    """To the login form, with the whole address encoded: a shared link keeps all its parameters."""
    return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))


def _json_error(status: int, message: str):
    resp = jsonify({"error": message, "status": status})
    resp.status_code = status
    return resp


def init_app(app: Flask) -> None:
    lm = LoginManager()
    lm.init_app(app)
    lm.session_protection = "strong"

    @lm.user_loader
    def load_user(user_id):
        return users.from_session_id(_db(), user_id)

    @app.before_request
    def gate():
        path = request.path
        if path.startswith(PUBLIC_PREFIXES):
            if path.startswith("/login") and request.method in STATE_CHANGING and not _csrf_ok():
                return _json_error(400, "Форма устарела (CSRF): обновите страницу входа")
            return None
        is_api = path.startswith("/api/")
        is_dash = path.startswith("/_dash-") or path.startswith("/_reload-hash")
        auth = request.headers.get("Authorization", "")
        if is_api and auth.startswith("Bearer "):
            user = tokens.user_for(_db(), auth[7:].strip())
            if user is None:
                return _json_error(401, "Недействительный или отозванный API-токен")
            g.iam_user, g.iam_via_token = user, True
            return None  # a bearer token is not sent by browsers on their own: no CSRF risk
        if not current_user.is_authenticated:
            if is_api or is_dash:
                return _json_error(401, "Требуется вход в систему")
            return _to_login()
        sid = session.get("sid")
        if sid is None and session.get("_fresh") is False:
            # just signed in again from a remember-me cookie: a new server-side session
            sid = session["sid"] = sessions.start(_db(), current_user.user_id, _cfg().session_hours)
            # bind it to this browser as login_user() does, or "strong" protection ends it on the next request
            session["_id"] = lm._session_identifier_generator()
        if not sessions.is_open(_db(), sid, current_user.user_id):
            # ended by logout, a password change or deactivation, or expired: this cookie is worth nothing
            logout_user()
            session.clear()
            if is_api or is_dash:
                return _json_error(401, "Сеанс завершён: войдите снова")
            return _to_login()
        g.iam_user, g.iam_via_token = current_user._get_current_object(), False
        if request.method in STATE_CHANGING and not _csrf_ok():
            return _json_error(403, "Запрос отклонён: нет действительного CSRF-токена. Обновите страницу.")
        return None

    @app.after_request
    def headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if g.get("iam_user") is not None and not g.get("iam_via_token"):
            tok = csrf_token()
            if request.cookies.get(CSRF_COOKIE) != tok:
                resp.set_cookie(CSRF_COOKIE, tok, httponly=False, samesite="Strict",
                                secure=app.config.get("SESSION_COOKIE_SECURE", False))
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.route("/login", methods=["GET", "POST"])
    def login():
        cfg = _cfg()
        ctx = {"csrf": csrf_token(), "next": safe_next(request.values.get("next")), "message": None,
               "level": "danger", "login": ""}
        if request.method == "GET":
            if current_user.is_authenticated:
                return redirect(ctx["next"])
            return render_template_string(LOGIN_PAGE, **ctx)
        login_name = (request.form.get("login") or "").strip()[:64]
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in login_name):
            login_name = "?"  # no login has control characters (and PostgreSQL refuses a NUL in a query)
        password = request.form.get("password") or ""
        ctx["login"] = login_name
        db = _db()
        window = dt.timedelta(seconds=cfg.login_lockout_seconds)
        now = dt.datetime.now()
        found = users.by_login(db, login_name)
        # an unknown login costs the same Argon2 work as a wrong password: timing tells nothing
        outcome, failures, last = logins.attempt(
            db, login_name, window, cfg.login_max_failures,
            lambda: users.verify_or_waste(found, password) and found[0].is_active)
        if outcome == "locked":
            wait = int((window - (now - last)).total_seconds() // 60) + 1
            audit.record(db, "login_locked", login=login_name)
            ctx["message"] = (f"Слишком много неудачных попыток входа. Вход для «{login_name}» заблокирован; "
                              f"попробуйте через {wait} мин.")
            return render_template_string(LOGIN_PAGE, **ctx), 429
        if outcome == "fail":
            audit.record(db, "login_failure", login=login_name, user_id=found[0].user_id if found else None)
            time.sleep(min(cfg.login_failure_delay * (failures + 1), 3.0))  # slows down guessing
            left = cfg.login_max_failures - failures - 1
            ctx["message"] = "Неверный логин или пароль" + (
                f". Осталось попыток до блокировки: {left}" if 0 < left <= 2 else
                (". Вход заблокирован на время" if left <= 0 else ""))
            return render_template_string(LOGIN_PAGE, **ctx), 401
        user, stored = found
        nxt = ctx["next"]
        if nxt == "/":  # no page asked for: the role's own first page (the HR departments: the effective contract)
            nxt = LANDING.get(user.role, "/")
        session.clear()  # a fresh session (and CSRF token) on every sign-in
        login_user(user, remember=request.form.get("remember") == "1",
                   duration=dt.timedelta(days=14))
        # not a permanent cookie: flask-login's "strong" protection then ends a session taken to another
        # browser; the session's lifetime (SESSION_HOURS) is kept on the server
        session["sid"] = sessions.start(db, user.user_id, cfg.session_hours)
        csrf_token()
        users.touch_login(db, user, stored, password)
        audit.record(db, "login_success", user_id=user.user_id, login=user.login)
        return redirect(nxt)

    @app.route("/logout", methods=["POST"])
    def logout():
        user = g.get("iam_user")
        if user is not None:
            audit.record(_db(), "logout", user_id=user.user_id, login=user.login)
        sessions.end(_db(), session.get("sid"))
        session.clear()
        logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
        resp = redirect("/login")
        resp.delete_cookie(CSRF_COOKIE)
        return resp

    @app.errorhandler(403)
    def forbidden(_e):
        if request.path.startswith(("/api/", "/_dash-")):
            return _json_error(403, "Нет доступа")
        return "Нет доступа", 403
