"""Control tasks: lifecycle, roles, the stale-version conflict, the API, the result at the due date."""
from __future__ import annotations

import datetime as dt

import pytest

from core.periods import parse_period
from data_access import tasks as T
from data_access.scope import ScopeError
from metrics import evaluate as E
from security import users
from services import control
from tests.conftest import csrf_header, login

CODE = "emk_coverage"


@pytest.fixture
def ctx(app):
    """An application context for tests that call the data layer directly (not for HTTP tests:
    requests would share its ``g``, and with it the signed-in user)."""
    with app.app_context():
        yield app


def user(app, login_name):
    return users.by_login(app.extensions["iam"]["db"], login_name)[0]


def new_task(app, by="kolpino", **kw):
    db = app.extensions["iam"]["db"]
    mo = app.places["glavvrach"]["mo_id"]
    args = dict(code=CODE, level="mo", unit_id=mo, period="2026-06", assignee="Заведующий отделением",
                due_date=dt.date.today() + dt.timedelta(days=20), description="Наладить передачу эпикризов", value=70.0,
                target=95.0, data_link="/indicator/emk_coverage?level=doctor&parent=1&period=2026-06")
    args.update(kw)
    return T.create(db, user(app, by), **args)


def test_lifecycle_with_roles_history_and_comments(ctx):
    app = ctx
    db = app.extensions["iam"]["db"]
    t = new_task(app)
    assert t["status"] == "new" and t["version"] == 1 and t["title"].startswith("Случаи с СЭМД")
    head, chief = user(app, "kolpino"), user(app, "glavvrach")
    t = T.update(db, chief, t["task_id"], 1, {"status": "in_progress"})
    t = T.update(db, chief, t["task_id"], 2, {"status": "review"})
    with pytest.raises(ScopeError, match="контролирующий"):
        T.update(db, chief, t["task_id"], 3, {"status": "done"})  # the executor cannot accept its own work
    with pytest.raises(ScopeError, match="только статус"):
        T.update(db, chief, t["task_id"], 3, {"due_date": dt.date.today() + dt.timedelta(days=90)})
    t = T.comment(db, chief, t["task_id"], "Эпикризы отправляются ежедневно")
    t = T.update(db, head, t["task_id"], 3, {"status": "done"})
    assert t["status"] == "done" and t["version"] == 4
    with pytest.raises(T.TaskError, match="нельзя перейти"):
        T.update(db, head, t["task_id"], 4, {"status": "in_progress"})
    fields = [(h["field"], h["new_value"]) for h in t["history"]]
    assert fields == [("created", "Новая"), ("status", "В работе"), ("status", "На проверке"), ("status", "Выполнена")]
    assert [h["author"] for h in t["history"]] == ["kolpino", "glavvrach", "glavvrach", "kolpino"]
    assert t["comments"][0]["text"] == "Эпикризы отправляются ежедневно"
    import sqlalchemy as sa

    from data_access.app_schema import audit_log
    with db.engine.connect() as c:
        actions = [r.action for r in c.execute(sa.select(audit_log.c.action).where(
            audit_log.c.object == f"task:{t['task_id']}"))]
    assert actions.count("task_update") == 3 and "task_create" in actions and "task_comment" in actions


def test_stale_version_is_a_conflict_and_nothing_is_overwritten(ctx):
    app = ctx
    db = app.extensions["iam"]["db"]
    t = new_task(app)
    chair, head = user(app, "chair"), user(app, "kolpino")
    T.update(db, chair, t["task_id"], 1, {"assignee": "Главный врач"})
    with pytest.raises(T.ConflictError, match="уже изменил chair") as err:
        T.update(db, head, t["task_id"], 1, {"assignee": "Заместитель", "description": "другое"})
    assert err.value.current["version"] == 2
    now = T.get(db, t["task_id"], head.scope)
    assert now["assignee"] == "Главный врач" and now["description"] == "Наладить передачу эпикризов" and now["version"] == 2


@pytest.mark.parametrize("by,kw,error,message", [
    ("glavvrach", {}, ScopeError, "Ставить на контроль могут"),
    ("analyst", {}, ScopeError, "Ставить на контроль могут"),
    ("nevsky", {}, ScopeError, "вне вашей области"),
    ("kolpino", {"assignee": " "}, T.TaskError, "исполнителя"),
    ("kolpino", {"description": ""}, T.TaskError, "что нужно сделать"),
    ("kolpino", {"due_date": dt.date(2020, 1, 1)}, T.TaskError, "в прошлом"),
    ("kolpino", {"level": "doctor"}, T.TaskError, "район или медицинская организация"),
])
def test_bad_tasks_are_refused(ctx, by, kw, error, message):
    app = ctx
    with pytest.raises(error, match=message):
        new_task(app, by=by, **kw)


def test_scope_of_task_lists(ctx):
    app = ctx
    db = app.extensions["iam"]["db"]
    t = new_task(app)
    assert t["task_id"] in set(T.search(db, user(app, "kolpino").scope)["task_id"])
    assert t["task_id"] in set(T.search(db, user(app, "glavvrach").scope)["task_id"])
    assert t["task_id"] not in set(T.search(db, user(app, "nevsky").scope)["task_id"])
    with pytest.raises(ScopeError):
        T.get(db, t["task_id"], user(app, "nevsky").scope)


def test_overdue_and_result_at_the_due_date(ctx):
    app = ctx
    db = app.extensions["iam"]["db"]
    mo = app.places["glavvrach"]["mo_id"]
    t = new_task(app, due_date=dt.date(2026, 7, 20), today=dt.date(2026, 7, 1))
    later = dt.date(2026, 8, 5)
    assert T.is_overdue(t, later)
    assert T.search(db, user(app, "chair").scope, overdue=True, today=later)["task_id"].tolist() == [t["task_id"]]
    res = control.outcome(t, later)
    v = E.unit_value(CODE, "mo", mo, parse_period("2026-07"))
    assert res["month"] == dt.date(2026, 7, 1) and res["value"] == pytest.approx(v["value"])
    assert res["achieved"] == (v["value"] >= res["target"])
    assert control.outcome(t, dt.date(2026, 7, 10)) is None  # not due yet


def test_tasks_are_searched_and_checked_by_the_one_scope_rule(ctx):
    """For every role the tasks ``search`` finds are exactly those ``visible`` lets through: one scope rule
    (``units.scope_where`` on the responsible organisation or on the organisation the task is about)."""
    from data_access import units as U
    db = ctx.extensions["iam"]["db"]
    kolp, own = ctx.places["kolpino"]["district_id"], ctx.places["glavvrach"]["mo_id"]
    orgs = U.organisations()
    neighbour = int(orgs[(orgs["district_id"] == kolp) & (orgs["mo_id"] != own)]["mo_id"].iloc[0])
    made = [new_task(ctx, level="district", unit_id=kolp)["task_id"],
            new_task(ctx, level="district", unit_id=kolp, mo_id=own)["task_id"],
            new_task(ctx, level="mo", unit_id=own)["task_id"],
            new_task(ctx, level="mo", unit_id=neighbour)["task_id"]]
    everything = T.search(db, user(ctx, "chair").scope)
    assert set(made) <= set(everything["task_id"])
    for name in ("chair", "kolpino", "nevsky", "glavvrach", "analyst"):
        scope = user(ctx, name).scope
        found = set(T.search(db, scope)["task_id"])
        assert found == {r["task_id"] for r in everything.to_dict("records") if T.visible(scope, r)}, name
    glav = set(T.search(db, user(ctx, "glavvrach").scope)["task_id"])
    # the MO head: the task on his organisation and the district task he answers for; not the others
    assert {made[1], made[2]} <= glav and not {made[0], made[3]} & glav
    assert not set(made) & set(T.search(db, user(ctx, "nevsky").scope)["task_id"])  # another district's head


def test_tasks_survive_a_restart(app, city_copy, make_app):
    with app.app_context():
        t = new_task(app)
    again = make_app(city_copy)
    with again.app_context():
        got = T.get(city_copy, t["task_id"], user(again, "chair").scope)
    assert got["title"] == t["title"] and got["history"][0]["field"] == "created"


# ---------------------------------------------------------------- API
def test_task_api(app):
    c = app.test_client()
    login(c, "kolpino")
    mo = app.places["glavvrach"]["mo_id"]
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    body = {"code": CODE, "level": "mo", "unit_id": mo, "period": "2026-06", "assignee": "Зав. отделением",
            "due_date": due, "description": "Проверить интеграцию"}
    assert c.post("/api/v1/tasks", json=body).status_code == 403  # no CSRF header with a session
    res = c.post("/api/v1/tasks", json=body, headers=csrf_header(c))
    assert res.status_code == 201, res.get_json()
    t = res.get_json()
    assert t["status"] == "new" and t["version"] == 1 and t["value_at_creation"] is not None
    assert "level=doctor" in t["data_link"] and "period=2026-06" in t["data_link"]
    tid = t["task_id"]
    h = csrf_header(c)
    ok = c.patch(f"/api/v1/tasks/{tid}", json={"version": 1, "assignee": "Главный врач", "comment": "Согласовано"},
                 headers=h)
    assert ok.status_code == 200 and ok.get_json()["version"] == 2 and ok.get_json()["comments"][0]["text"] == "Согласовано"
    stale = c.patch(f"/api/v1/tasks/{tid}", json={"version": 1, "assignee": "Кто-то"}, headers=h)
    assert stale.status_code == 409
    assert "уже изменил kolpino" in stale.get_json()["error"] and stale.get_json()["current"]["version"] == 2
    for payload, status, msg in (
        ({"version": 2, "status": "done"}, 400, "нельзя перейти"),
        ({"version": 2, "colour": "red"}, 400, "менять нельзя"),
        ({"assignee": "x"}, 400, "version"),
        ({"version": 2, "due_date": "31.12.2026"}, 400, "ГГГГ-ММ-ДД"),
    ):
        r = c.patch(f"/api/v1/tasks/{tid}", json=payload, headers=h)
        assert r.status_code == status and msg in r.get_json()["error"], r.get_json()
    assert c.patch("/api/v1/tasks/999999", json={"version": 1, "assignee": "x"}, headers=h).status_code == 404
    assert c.patch(f"/api/v1/tasks/{tid}", data="not json", headers=h).status_code == 400
    for bad, msg in (({**body, "due_date": "завтра"}, "ГГГГ-ММ-ДД"), ({**body, "period": "2026-13"}, "не распознан"),
                     ({k: v for k, v in body.items() if k != "assignee"}, "Не заданы поля")):
        r = c.post("/api/v1/tasks", json=bad, headers=h)
        assert r.status_code == 400 and msg in r.get_json()["error"]
    listed = c.get("/api/v1/tasks?status=new").get_json()["tasks"]
    assert [x["task_id"] for x in listed] == [tid]
    assert c.get("/api/v1/tasks?status=weird").status_code == 400
    other = app.test_client()
    login(other, "nevsky")
    assert other.get(f"/api/v1/tasks/{tid}").status_code == 403
    assert other.patch(f"/api/v1/tasks/{tid}", json={"version": 2, "assignee": "x"},
                       headers=csrf_header(other)).status_code == 403
    assert other.get("/api/v1/tasks").get_json()["tasks"] == []


def test_menu_counts_open_and_overdue_tasks_in_the_scope(ctx):
    app = ctx
    db = app.extensions["iam"]["db"]
    late = new_task(app, due_date=dt.date(2026, 7, 20), today=dt.date(2026, 7, 1))
    new_task(app, due_date=dt.date(2026, 9, 20), today=dt.date(2026, 7, 1))
    done = new_task(app, due_date=dt.date(2026, 7, 25), today=dt.date(2026, 7, 1))
    T.update(db, user(app, "kolpino"), done["task_id"], 1, {"status": "cancelled"})
    today = dt.date(2026, 8, 5)
    assert T.open_counts(db, user(app, "kolpino").scope, today) == (2, 1)
    assert T.open_counts(db, user(app, "glavvrach").scope, today) == (2, 1)
    assert T.open_counts(db, user(app, "nevsky").scope, today) == (0, 0)
    assert late["status"] == "new"


def test_task_pages_show_people_periods_in_words_and_badges(app):
    from tests.test_security import router
    with app.app_context():
        t = new_task(app, period="2026-Q2")
        db = app.extensions["iam"]["db"]
        T.comment(db, user(app, "glavvrach"), t["task_id"], "Принято в работу")
    c = app.test_client()
    login(c, "kolpino")
    page = router(c, f"/task/{t['task_id']}").get_data()
    assert "2 квартал 2026" in page and "2026-Q2" not in page
    assert "Поставил Kolpino" in page and "Glavvrach" in page  # full names (the test accounts' names), not logins
    listing = router(c, "/tasks").get_data()
    assert "2 квартал 2026" in listing and '"link_target": "_self"' in listing
    shell = c.get("/_dash-layout").get_data(as_text=True)
    assert "nav-tasks-open" in shell  # the counter beside «Задачи» in the menu
    analyst = app.test_client()
    login(analyst, "analyst")
    assert "nav-tasks-open" not in analyst.get("/_dash-layout").get_data(as_text=True)


def test_saving_fields_with_a_bad_comment_saves_nothing(app):
    """«Сохранить» with a typed comment saves both or neither: a comment too long leaves the task as it was."""
    import dash
    from flask import g
    with app.app_context():
        t = new_task(app)
        db = app.extensions["iam"]["db"]
        with app.test_request_context("/"):
            g.iam_user = user(app, "kolpino")
            from pages.task import save  # the page's callback (the app has imported the pages already)
            state = {"task_id": t["task_id"], "version": t["version"]}
            msg, box, st = save(1, state, t["assignee"], t["due_date"].isoformat(), "Новое описание", t["mo_id"],
                                "x" * 5000)
            assert "4000" in str(msg) and st is dash.no_update
            assert T.get(db, t["task_id"], user(app, "kolpino").scope)["description"] == t["description"]
            msg, box, st = save(1, state, t["assignee"], t["due_date"].isoformat(), "Новое описание", t["mo_id"],
                                "Описание уточнено")
            saved = T.get(db, t["task_id"], user(app, "kolpino").scope)
            assert saved["description"] == "Новое описание" and saved["comments"][-1]["text"] == "Описание уточнено"
            assert st["version"] == saved["version"]
