"""Control tasks («поставить на контроль»): an off-target indicator of a district or organisation
becomes a task with the value, target and a link to the data as they were; followed until done.

Every change is one transaction with a version check: ``UPDATE … WHERE version = :seen``. When
somebody else changed the task first nothing is written and ``ConflictError`` says who and when.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import pandas as pd
import sqlalchemy as sa
from flask import current_app

from . import units as U
from .app_schema import control_task, ensure, task_comment, task_history
from .audit import record
from .db import Database
from .scope import Scope, ScopeError

STATUSES = {"new": "Новая", "in_progress": "В работе", "review": "На проверке", "done": "Выполнена",
            "cancelled": "Отменена"}
OPEN = ("new", "in_progress", "review")
STATUS_COLORS = {"new": "info", "in_progress": "primary", "review": "warning", "done": "success",
                 "cancelled": "secondary"}  # Bootstrap colours of the status badges
TRANSITIONS = {"new": {"in_progress", "cancelled"}, "in_progress": {"review", "cancelled"},
               "review": {"done", "in_progress", "cancelled"}, "done": set(), "cancelled": set()}
# The organisation that carries the task takes it into work and hands it in for review; accepting
# (done), returning and cancelling are for those who control it.
EXECUTOR_MOVES = {("new", "in_progress"), ("in_progress", "review")}
EDITABLE = {"status", "assignee", "due_date", "description", "mo_id"}
FIELD_NAMES = {"status": "Статус", "assignee": "Исполнитель", "due_date": "Срок", "description": "Описание",
               "mo_id": "Ответственная МО", "created": "Создана"}


class TaskError(ValueError):
    """A task change refused; the message says why, in Russian."""


class ConflictError(TaskError):
    """The task was changed by somebody else since it was read."""

    def __init__(self, message: str, current: dict):
        super().__init__(message)
        self.current = current


class TaskNotFound(LookupError):
    pass


def _indicator_name(code: str) -> str | None:
    """The short name of an indicator of the current app's registry, None for an unknown code.

    The registry lives above storage (metrics/): create_app() injects this lookup into the app
    (``extensions["iam"]["indicator_name"]``), as it injects the cache's version providers.
    """
    lookup: Callable[[str], str | None] | None = current_app.extensions["iam"].get("indicator_name")
    if lookup is None:
        raise RuntimeError("data_access.tasks: the app has no indicator lookup (create_app() sets it)")
    return lookup(code)


def text_problem(value, limit: int) -> str | None:
    """What is wrong with a text field (None: acceptable): not a string, empty, too long, control characters."""
    if not isinstance(value, str) or not value.strip():
        return "Поле не может быть пустым"
    if len(value) > limit:
        return f"Слишком длинный текст (до {limit} символов)"
    if any(ord(ch) < 32 and ch not in "\n\r\t" or ord(ch) == 127 for ch in value):
        return "Текст содержит управляющие символы"
    return None


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def visible(scope: Scope, row) -> bool:
    """Whether a person with this scope may see a task: the scope rule of its responsible organisation or,
    for a task on an organisation, of that organisation (as ``scope_where`` in ``search``)."""
    return (U.visible(scope, "mo", row["district_id"], row.get("mo_id"))
            or (row["level"] == "mo" and U.visible(scope, "mo", row["district_id"], row["unit_id"])))


def can_control(user, row) -> bool:
    """Committee and administrators control every task; a district head those of their district."""
    if user.role in ("admin", "committee"):
        return True
    return user.role == "district" and int(user.district_id) == int(row["district_id"])


def is_executor(user, row) -> bool:
    own = (row.get("mo_id"), row["unit_id"] if row["level"] == "mo" else None)
    return user.role == "mo" and user.mo_id is not None and int(user.mo_id) in own


def _row(conn, task_id: int) -> dict | None:
    r = conn.execute(sa.select(control_task).where(control_task.c.task_id == int(task_id))).mappings().first()
    return dict(r) if r else None


def create(db: Database, user, *, code: str, level: str, unit_id: int, period: str, assignee: str, due_date: dt.date,
           description: str, mo_id: int | None = None, value=None, target=None, data_link: str = "",
           today: dt.date | None = None, now: dt.datetime | None = None) -> dict:
    """A new task (status «new», version 1) for an off-target indicator of a district or organisation."""
    ensure(db)
    today = today or dt.date.today()
    if not user.role_info.create_tasks:
        raise ScopeError("Ставить на контроль могут руководители комитета и районов и администраторы")
    if level not in ("district", "mo"):
        raise TaskError("На контроль ставится район или медицинская организация")
    u = U.unit(level, unit_id)
    if u is None:
        raise TaskError(f"Единица {unit_id} не найдена")
    U.require(user.scope, u)
    if level == "mo":
        mo_id = u.mo_id
    elif mo_id is not None:
        mo = U.unit("mo", mo_id)
        if mo is None or mo.district_id != u.district_id:
            raise TaskError("Ответственная организация должна быть в том же районе")
    if not isinstance(assignee, str) or not assignee.strip():
        raise TaskError("Укажите исполнителя")
    if not isinstance(description, str) or not description.strip():
        raise TaskError("Опишите, что нужно сделать")
    assignee, description = assignee.strip(), description.strip()
    for text, limit in ((assignee, 160), (description, 4000)):
        if problem := text_problem(text, limit):
            raise TaskError(problem)
    if not isinstance(due_date, dt.date):
        raise TaskError("Срок — дата в формате ДД.ММ.ГГГГ")
    if due_date < today:
        raise TaskError("Срок не может быть в прошлом")
    short = _indicator_name(code)
    if short is None:
        raise TaskError(f"Показатель «{code}» не найден")
    now = now or _now()
    row = dict(code=code, level=level, unit_id=int(unit_id), district_id=int(u.district_id), mo_id=mo_id,
               period=period, value_at_creation=value, target_at_creation=target, data_link=data_link[:400],
               title=f"{short}: {u.name}"[:200], description=description, assignee=assignee, due_date=due_date,
               status="new", version=1, created_at=now, created_by=user.login, updated_at=now, updated_by=user.login)
    with db.write() as c:
        tid = c.execute(control_task.insert().values(**row).returning(control_task.c.task_id)).scalar()
        c.execute(task_history.insert().values(task_id=tid, changed_at=now, author=user.login, field="created",
                                               old_value=None, new_value=STATUSES["new"]))
        record(db, "task_create", user_id=user.user_id, login=user.login, obj=f"task:{tid}",
               details={"code": code, "level": level, "unit": unit_id, "period": period}, conn=c)
    return get(db, tid, user.scope)


def count(db: Database) -> int:
    """How many tasks there are (of all people)."""
    ensure(db)
    with db.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(control_task)).scalar()


def get(db: Database, task_id: int, scope: Scope) -> dict:
    ensure(db)
    with db.engine.connect() as c:
        row = _row(c, task_id)
        if row is None:
            raise TaskNotFound(f"Задача {task_id} не найдена")
        if not visible(scope, row):
            raise ScopeError("Эта задача вне вашей области доступа")
        row["comments"] = [dict(r) for r in c.execute(sa.select(task_comment).where(
            task_comment.c.task_id == int(task_id)).order_by(task_comment.c.comment_id)).mappings()]
        row["history"] = [dict(r) for r in c.execute(sa.select(task_history).where(
            task_history.c.task_id == int(task_id)).order_by(task_history.c.history_id)).mappings()]
    return row


def _fmt(field: str, v) -> str | None:
    if v is None:
        return None
    if field == "status":
        return STATUSES.get(v, v)
    if field == "due_date":
        return f"{v:%d.%m.%Y}"
    return str(v)


def update(db: Database, user, task_id: int, seen_version: int, changes: dict, today: dt.date | None = None,
           now: dt.datetime | None = None) -> dict:
    """Apply changes if nobody changed the task since ``seen_version``; history and audit in one transaction."""
    ensure(db)
    today = today or dt.date.today()
    if unknown := set(changes) - EDITABLE:
        raise TaskError(f"Эти поля задачи менять нельзя: {', '.join(sorted(unknown))}")
    try:
        seen_version = int(seen_version)
    except (TypeError, ValueError) as exc:
        raise TaskError("Укажите версию задачи, которую вы видели (version)") from exc
    now = now or _now()
    with db.write() as c:
        row = _row(c, task_id)
        if row is None:
            raise TaskNotFound(f"Задача {task_id} не найдена")
        if not visible(user.scope, row):
            raise ScopeError("Эта задача вне вашей области доступа")
        control, executor = can_control(user, row), is_executor(user, row)
        if not control and not executor:
            raise ScopeError("Менять задачу могут контролирующие её и ответственная организация")
        if int(row["version"]) != seen_version:  # a stale view first: its changes are judged on old facts
            _conflict(row, seen_version)
        new = {k: v for k, v in changes.items() if row.get(k) != v}
        if "status" in new:
            move = (row["status"], new["status"])
            if new["status"] not in STATUSES:
                raise TaskError(f"Статус «{new['status']}» неизвестен")
            if new["status"] not in TRANSITIONS[row["status"]]:
                raise TaskError(f"Из статуса «{STATUSES[row['status']]}» нельзя перейти в «{STATUSES[new['status']]}»")
            if not control and move not in EXECUTOR_MOVES:
                raise ScopeError("Принять, вернуть или отменить задачу может только контролирующий её")
        if not control and set(new) - {"status"}:
            raise ScopeError("Ответственная организация меняет только статус задачи и пишет комментарии")
        if "due_date" in new:
            if not isinstance(new["due_date"], dt.date):
                raise TaskError("Срок — дата в формате ДД.ММ.ГГГГ")
            if new["due_date"] < today and new["due_date"] < row["due_date"]:
                raise TaskError("Новый срок не может быть в прошлом")
        for f, limit in (("assignee", 160), ("description", 4000)):  # the same rules as at creation
            if f in new and (problem := text_problem(new[f], limit)):
                raise TaskError(problem)
        if "mo_id" in new and new["mo_id"] is not None:
            mo = U.unit("mo", new["mo_id"])
            if mo is None or mo.district_id != row["district_id"]:
                raise TaskError("Ответственная организация должна быть в том же районе")
        if not new:
            return get(db, task_id, user.scope)
        res = c.execute(control_task.update().where(control_task.c.task_id == int(task_id),
                                                    control_task.c.version == seen_version)
                        .values(**new, version=seen_version + 1, updated_at=now, updated_by=user.login))
        if res.rowcount == 0:
            _conflict(_row(c, task_id), seen_version)
        for f, v in new.items():
            c.execute(task_history.insert().values(task_id=int(task_id), changed_at=now, author=user.login, field=f,
                                                   old_value=_fmt(f, row.get(f)), new_value=_fmt(f, v)))
        record(db, "task_update", user_id=user.user_id, login=user.login, obj=f"task:{task_id}",
               details={k: _fmt(k, v) for k, v in new.items()}, conn=c)
    return get(db, task_id, user.scope)


def _conflict(current: dict, seen_version: int):
    raise ConflictError(
        f"Задачу уже изменил {current['updated_by']} в {current['updated_at']:%H:%M %d.%m.%Y} "
        f"(версия {current['version']}, у вас — {seen_version}). Ваши правки не сохранены: "
        f"обновите задачу и внесите их снова.", current)


def comment_problem(text) -> str | None:
    """What is wrong with a comment (None: it can be saved) — checked before anything else is saved with it."""
    text = (text or "").strip() if isinstance(text, str) else text
    if not text:
        return "Пустой комментарий"
    if problem := text_problem(text, 4000):
        return problem if "длинный" not in problem else "Комментарий длиннее 4000 символов"
    return None


def comment(db: Database, user, task_id: int, text: str) -> dict:
    if problem := comment_problem(text):
        raise TaskError(problem)
    text = text.strip()
    ensure(db)
    with db.write() as c:
        row = _row(c, task_id)
        if row is None:
            raise TaskNotFound(f"Задача {task_id} не найдена")
        if not visible(user.scope, row):
            raise ScopeError("Эта задача вне вашей области доступа")
        c.execute(task_comment.insert().values(task_id=int(task_id), written_at=_now(), author=user.login, text=text))
        record(db, "task_comment", user_id=user.user_id, login=user.login, obj=f"task:{task_id}", conn=c)
    return get(db, task_id, user.scope)


def search(db: Database, scope: Scope, *, district_id=None, mo_id=None, code=None, status=None,
           overdue: bool | None = None, unit: tuple[str, int] | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Tasks visible in the scope, filtered; with «overdue» computed."""
    ensure(db)
    today = today or dt.date.today()
    t = control_task
    # a filter naming a unit outside the scope is refused (ScopeError), not silently emptied
    q = sa.select(t).order_by(t.c.task_id.desc())
    for level, uid in (("district", district_id), ("mo", mo_id)):
        if uid is None:
            continue
        if (u := U.unit(level, uid)) is None:
            q = q.where(sa.false())  # no such unit: no task (and no out-of-range number reaches the database)
        elif level == "district":
            q = q.where(t.c.district_id == U.require(scope, u).id)
        else:
            q = q.where(sa.or_(t.c.mo_id == U.require(scope, u).id, sa.and_(t.c.level == "mo", t.c.unit_id == u.id)))
    if not scope.is_city:  # the one scope filter, applied to the responsible organisation or the task's subject
        q = q.where(sa.or_(sa.and_(*U.scope_where(t, scope, "mo")),
                           sa.and_(t.c.level == "mo", *U.scope_where(t, scope, "mo", mo_column="unit_id"))))
    if code:
        q = q.where(t.c.code == code)
    if status:
        q = q.where(t.c.status.in_([status] if isinstance(status, str) else list(status)))
    if unit is not None:
        q = q.where(t.c.level == unit[0], t.c.unit_id == int(unit[1]))
    df = db.read_df(q)
    df["due_date"] = pd.to_datetime(df["due_date"]).dt.date
    df["overdue"] = [s not in ("done", "cancelled") and d < today for s, d in zip(df["status"], df["due_date"])]
    if overdue is not None:
        df = df[df["overdue"] == bool(overdue)]
    return df.reset_index(drop=True)


def open_counts(db: Database, scope: Scope, today: dt.date | None = None) -> tuple[int, int]:
    """(open, overdue) tasks visible in a scope — the counter in the top menu."""
    df = search(db, scope, status=OPEN, today=today)
    return len(df), int(df["overdue"].sum()) if len(df) else 0


def is_overdue(row: dict, today: dt.date | None = None) -> bool:
    today = today or dt.date.today()
    return row["status"] not in ("done", "cancelled") and row["due_date"] < today
