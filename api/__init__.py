"""The JSON API, version 1: ``/api/v1/…``. Errors are JSON with a Russian message, never a traceback."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from werkzeug.exceptions import HTTPException

from components.tablespec import TableParamError
from core.periods import PeriodError
from data_access.scope import ScopeError
from data_access.units import UnitError, UnitNotFound
from metrics.evaluate import EvaluationError, NotFound

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
log = logging.getLogger("iam.api")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def query_args(accepted: set[str]) -> dict:
    """The query parameters, refused (400) when one is unknown — before anything else is looked at."""
    from flask import request
    a = request.args.to_dict()
    if unknown := set(a) - accepted:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    return a


def error(status: int, message: str):
    resp = jsonify({"error": message, "status": status})
    resp.status_code = status
    return resp


@blueprint.errorhandler(ApiError)
def _api_error(e: ApiError):
    return error(e.status, e.message)


@blueprint.errorhandler(PeriodError)
@blueprint.errorhandler(EvaluationError)
@blueprint.errorhandler(UnitError)
@blueprint.errorhandler(TableParamError)
def _bad_request(e):
    return error(400, str(e))


@blueprint.errorhandler(NotFound)
@blueprint.errorhandler(UnitNotFound)
def _not_found(e):
    return error(404, str(e))


@blueprint.errorhandler(ScopeError)
def _forbidden(e):
    from security import audit_event
    audit_event("forbidden", obj=str(e), details={"unit": getattr(e, "unit", None)})
    return error(403, str(e))


@blueprint.errorhandler(HTTPException)
def _http(e: HTTPException):
    return error(e.code or 500, {404: "Не найдено", 405: "Метод не поддерживается"}.get(e.code, e.description or ""))


@blueprint.errorhandler(Exception)
def _unexpected(e):
    log.exception("API error")
    return error(500, "Внутренняя ошибка сервера; запрос записан в журнал")


@blueprint.route("/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _unknown(_rest):
    # without this, Dash's catch-all page route would answer an unknown API path with HTML
    return error(404, "Не найдено: такого метода API нет")


def consistent_reads(app) -> None:
    """Every GET of the API and the exports answers from one data version.

    A refresh commits all months at once, and each query reads one snapshot; but an answer made of several
    queries could straddle the commit. So the data version is read before and after the answer is built, and
    a changed version builds it again (at most twice more). The cache's version is re-read first, so a
    refresh committed by another process is seen at once, not after the cache's few seconds.
    """
    import functools

    from data_access.marts import data_version

    def consistent(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            iam = app.extensions["iam"]
            for _ in range(3):
                iam["cache"].touch()
                before = data_version(iam["db"])
                resp = view(*args, **kwargs)
                if data_version(iam["db"]) == before:
                    break
            return resp
        return wrapper

    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("api_v1", "exports") and "GET" in rule.methods \
                and not rule.endpoint.endswith("_unknown"):
            app.view_functions[rule.endpoint] = consistent(app.view_functions[rule.endpoint])


from . import admin, contract, dataquality, indicators, prevention, ratings, tables, tasks  # noqa: E402,F401
