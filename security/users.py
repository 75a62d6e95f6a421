"""Users: stored in the database with Argon2 password hashes; roles give them a data scope."""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from data_access import schema
from data_access.app_schema import app_user, ensure
from data_access.db import Database
from data_access.scope import Scope

from . import audit
from .roles import ROLES

_hasher = PasswordHasher()
LOGIN_RX = re.compile(r"^[A-Za-z0-9._-]{3,64}$")


class UserError(ValueError):
    """A user operation refused with a message in Russian."""


def password_problems(password: str, login: str = "") -> list[str]:
    """What is wrong with a password under the policy (empty list: acceptable)."""
    p = password or ""
    problems = []
    if len(p) < 10:
        problems.append("быть не короче 10 символов")
    if not re.search(r"[A-Za-zА-Яа-яЁё]", p) or not re.search(r"\d", p):
        problems.append("содержать буквы и цифры")
    if login and login.lower() in p.lower():
        problems.append("не содержать логин")
    if p and len(set(p)) < 4:
        problems.append("не состоять из повторов одного-двух символов")
    return problems


def check_password(password: str, login: str = "") -> None:
    if problems := password_problems(password, login):
        raise UserError("Пароль должен " + ", ".join(problems))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class User(UserMixin):
    user_id: int
    login: str
    full_name: str
    role: str
    district_id: int | None
    mo_id: int | None
    is_active_flag: bool
    mo_district_id: int | None = None

    def get_id(self) -> str:
        return str(self.user_id)

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.is_active_flag

    @property
    def role_info(self):
        return ROLES[self.role]

    @property
    def scope(self) -> Scope:
        r = self.role_info
        if r.scope == "city":
            return Scope(patients=r.patients, label="весь город")
        if r.scope == "district":
            return Scope(districts=frozenset({int(self.district_id)}), patients=r.patients, label="район")
        return Scope(districts=frozenset({int(self.mo_district_id)}), mos=frozenset({int(self.mo_id)}),
                     patients=r.patients, label="организация")


def _row_to_user(r) -> User:
    return User(user_id=r.user_id, login=r.login, full_name=r.full_name, role=r.role, district_id=r.district_id,
                mo_id=r.mo_id, is_active_flag=bool(r.is_active), mo_district_id=getattr(r, "mo_district", None))


def _select():
    m = schema.mo
    return sa.select(app_user, m.c.district_id.label("mo_district")).select_from(
        app_user.outerjoin(m, m.c.mo_id == app_user.c.mo_id))


def get(db: Database, user_id) -> User | None:
    ensure(db)
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    with db.engine.connect() as c:
        r = c.execute(_select().where(app_user.c.user_id == uid)).first()
    return _row_to_user(r) if r else None


def by_login(db: Database, login: str) -> tuple[User, str] | None:
    """The user and their password hash."""
    ensure(db)
    with db.engine.connect() as c:
        r = c.execute(_select().where(app_user.c.login == (login or "").strip())).first()
    return (_row_to_user(r), r.password_hash) if r else None


def list_users(db: Database):
    ensure(db)
    return db.read_df(sa.select(app_user.c.user_id, app_user.c.login, app_user.c.full_name, app_user.c.role,
                                app_user.c.district_id, app_user.c.mo_id, app_user.c.is_active,
                                app_user.c.last_login_at).order_by(app_user.c.login))


def _validate_place(db: Database, role: str, district_id, mo_id):
    if role not in ROLES:
        raise UserError(f"Роль «{role}» неизвестна; допустимы: {', '.join(ROLES)}")
    scope = ROLES[role].scope
    with db.engine.connect() as c:
        if scope == "district":
            if district_id is None:
                raise UserError("Для руководителя района укажите район (--district)")
            if not c.execute(sa.select(schema.district.c.district_id).where(
                    schema.district.c.district_id == int(district_id))).first():
                raise UserError(f"Района с кодом {district_id} нет")
            return int(district_id), None
        if scope == "mo":
            if mo_id is None:
                raise UserError("Для руководителя МО укажите организацию (--mo)")
            r = c.execute(sa.select(schema.mo.c.district_id).where(schema.mo.c.mo_id == int(mo_id))).first()
            if not r:
                raise UserError(f"Организации с кодом {mo_id} нет")
            return int(r.district_id), int(mo_id)
    return None, None


def create(db: Database, *, login: str, full_name: str, role: str, password: str, district_id=None, mo_id=None,
           by: str = "cli") -> User:
    ensure(db)
    login = (login or "").strip()
    if not LOGIN_RX.match(login):
        raise UserError("Логин — от 3 до 64 латинских букв, цифр, точек, дефисов или подчёркиваний")
    district_id, mo_id = _validate_place(db, role, district_id, mo_id)
    check_password(password, login)
    now = dt.datetime.now().replace(microsecond=0)
    with db.engine.begin() as c:
        if c.execute(sa.select(app_user.c.user_id).where(app_user.c.login == login)).first():
            raise UserError(f"Пользователь «{login}» уже есть")
        uid = c.execute(app_user.insert().values(
            login=login, full_name=(full_name or login).strip(), password_hash=hash_password(password), role=role,
            district_id=district_id, mo_id=mo_id, is_active=True, created_at=now, password_changed_at=now,
        ).returning(app_user.c.user_id)).scalar()
        audit.record(db, "user_create", login=by, obj=login, details={"role": role, "district": district_id, "mo": mo_id},
                     conn=c)
    return get(db, uid)


def set_password(db: Database, login: str, password: str, by: str = "cli") -> None:
    found = by_login(db, login)
    if not found:
        raise UserError(f"Пользователя «{login}» нет")
    check_password(password, login)
    with db.engine.begin() as c:
        c.execute(app_user.update().where(app_user.c.login == login).values(
            password_hash=hash_password(password), password_changed_at=dt.datetime.now().replace(microsecond=0)))
        audit.record(db, "password_change", login=by, obj=login, conn=c)


def set_active(db: Database, user_id: int, active: bool, by: str) -> None:
    u = get(db, user_id)
    if not u:
        raise UserError("Пользователь не найден")
    with db.engine.begin() as c:
        c.execute(app_user.update().where(app_user.c.user_id == u.user_id).values(is_active=bool(active)))
        audit.record(db, "user_update", login=by, obj=u.login, details={"is_active": bool(active)}, conn=c)


def touch_login(db: Database, user: User, stored_hash: str, password: str) -> None:
    values = {"last_login_at": dt.datetime.now().replace(microsecond=0)}
    if _hasher.check_needs_rehash(stored_hash):
        values["password_hash"] = hash_password(password)
    with db.engine.begin() as c:
        c.execute(app_user.update().where(app_user.c.user_id == user.user_id).values(**values))


def generate_password() -> str:
    """A random password that satisfies the policy."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
    while True:
        p = "".join(secrets.choice(alphabet) for _ in range(8)) + "".join(secrets.choice("23456789") for _ in range(4))
        if not password_problems(p):
            return p


def ensure_demo_users(app) -> list[tuple[str, str, str]] | None:
    """In demo mode, create one user per role on first start; print and save the passwords once."""
    db: Database = app.extensions["iam"]["db"]
    ensure(db)
    with db.engine.connect() as c:
        if c.execute(sa.select(sa.func.count()).select_from(app_user)).scalar():
            return None
        kolp = c.execute(sa.select(schema.district.c.district_id).where(schema.district.c.name == "Колпинский")).scalar()
        mo_id = c.execute(sa.select(schema.mo.c.mo_id).where(schema.mo.c.district_id == kolp,
                                                             schema.mo.c.kind == "adult_polyclinic")
                          .order_by(schema.mo.c.mo_id).limit(1)).scalar()
        mo_name = c.execute(sa.select(schema.mo.c.short_name).where(schema.mo.c.mo_id == mo_id)).scalar()
    plan = [("admin", "Администратор системы", "admin", None, None),
            ("chair", "Руководитель комитета", "committee", None, None),
            ("kolpino", "Руководитель Колпинского района", "district", kolp, None),
            ("glavvrach", f"Главный врач ({mo_name})", "mo", None, mo_id),
            ("analyst", "Аналитик МИАЦ", "analyst", None, None)]
    made = []
    for login, name, role, d, m in plan:
        pw = generate_password()
        create(db, login=login, full_name=name, role=role, password=pw, district_id=d, mo_id=m, by="demo")
        made.append((login, ROLES[role].name + (f" ({name})" if role in ("district", "mo") else ""), pw))
    path = app.extensions["iam"]["config"].instance_dir / "demo-users.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # readable only by its owner
    with os.fdopen(fd, "w") as fh:
        fh.write("Демо-пользователи ИАМ (пароли показываются один раз)\n")
        for login, role, pw in made:
            fh.write(f"{login}\t{pw}\t{role}\n")
    os.chmod(path, 0o600)
    print("Созданы демо-пользователи (логин / пароль / роль); список сохранён в", path)
    for login, role, pw in made:
        print(f"  {login:<10} {pw:<14} {role}")
    return made
