"""CLI: create-user, set-password, create-token (passwords come from standard input)."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from security.roles import ROLES
from security.users import UserError


def _read_password(confirm: bool = True) -> str:
    if sys.stdin.isatty():
        return click.prompt("Пароль", hide_input=True, confirmation_prompt="Повторите пароль" if confirm else False)
    return sys.stdin.readline().rstrip("\n")


def register(app) -> None:
    from . import CliError, _db

    @app.cli.command("create-user")
    @click.option("--login", required=True, help="Логин")
    @click.option("--role", required=True, type=click.Choice(list(ROLES)), help="Роль")
    @click.option("--name", default=None, help="ФИО или описание")
    @click.option("--district", type=int, default=None, help="Код района (для руководителя района)")
    @click.option("--mo", type=int, default=None, help="Код МО (для руководителя МО)")
    @with_appcontext
    def create_user(login, role, name, district, mo):
        """Создать пользователя; пароль читается со стандартного ввода."""
        from security import users
        db = _db()
        password = _read_password()
        try:
            u = users.create(db, login=login, full_name=name or login, role=role, password=password,
                             district_id=district, mo_id=mo, by="cli")
        except UserError as exc:
            raise CliError(str(exc)) from exc
        click.echo(f"Создан пользователь {u.login} ({ROLES[u.role].name})")

    @app.cli.command("set-password")
    @click.option("--login", required=True)
    @with_appcontext
    def set_password(login):
        """Сменить пароль; новый пароль читается со стандартного ввода."""
        from security import users
        db = _db()
        try:
            users.set_password(db, login, _read_password(), by="cli")
        except UserError as exc:
            raise CliError(str(exc)) from exc
        click.echo(f"Пароль пользователя {login} изменён")

    @app.cli.command("create-token")
    @click.option("--login", required=True)
    @click.option("--name", default="CLI", help="Назначение токена")
    @with_appcontext
    def create_token(login, name):
        """Выпустить API-токен (печатается один раз)."""
        from security import tokens, users
        db = _db()
        found = users.by_login(db, login)
        if not found:
            raise CliError(f"Пользователя «{login}» нет")
        try:
            token = tokens.create(db, found[0], name)
        except UserError as exc:
            raise CliError(str(exc)) from exc
        click.echo(token)
