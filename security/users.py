"""Users: stored in the database with Argon2 password hashes; roles give them a data scope."""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from data_access import users as store
from data_access.db import Database
from data_access.scope import Scope

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
    password_stamp: int = 0  # when the password last changed (µs): a remember-me cookie names it

    def get_id(self) -> str:
        # flask-login keeps this in the session and the remember-me cookie: a password change voids both
        return f"{self.user_id}:{self.password_stamp}"

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


def _stamp(changed) -> int:
    # microseconds, so that a change within the same second as the previous one still voids old cookies
    if changed is None:
        return 0
    return (changed.replace(tzinfo=None) - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _row_to_user(r) -> User:
    changed = getattr(r, "password_changed_at", None)
    return User(user_id=r.user_id, login=r.login, full_name=r.full_name, role=r.role, district_id=r.district_id,
                mo_id=r.mo_id, is_active_flag=bool(r.is_active), mo_district_id=getattr(r, "mo_district", None),
                password_stamp=_stamp(changed))


def get(db: Database, user_id) -> User | None:
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    r = store.get(db, uid)
    return _row_to_user(r) if r else None


def from_session_id(db: Database, session_id: str) -> User | None:
    """The user named by flask-login's id (``user_id:password stamp``); None after a password change."""
    uid, _, stamp = str(session_id).partition(":")
    user = get(db, uid)
    return user if user is not None and stamp == str(user.password_stamp) else None


_DUMMY_HASH: list[str] = []


def verify_or_waste(found: tuple[User, str] | None, password: str) -> bool:
    """Verify a password; for an unknown login hash it against a dummy, so both take the same time."""
    if found is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
        verify_password(_DUMMY_HASH[0], password)
        return False
    return verify_password(found[1], password)


def by_login(db: Database, login: str) -> tuple[User, str] | None:
    """The user and their password hash."""
    r = store.by_login(db, (login or "").strip())
    return (_row_to_user(r), r.password_hash) if r else None


def list_users(db: Database):
    return store.list_users(db)


def _validate_place(db: Database, role: str, district_id, mo_id):
    if role not in ROLES:
        raise UserError(f"Роль «{role}» неизвестна; допустимы: {', '.join(ROLES)}")
    scope = ROLES[role].scope
    if scope == "district":
        if district_id is None:
            raise UserError("Для руководителя района укажите район (--district)")
        if not store.district_exists(db, district_id):
            raise UserError(f"Района с кодом {district_id} нет")
        return int(district_id), None
    if scope == "mo":
        if mo_id is None:
            raise UserError(f"Для роли «{ROLES[role].name}» укажите организацию (--mo)")
        district = store.mo_district(db, mo_id)
        if district is None:
            raise UserError(f"Организации с кодом {mo_id} нет")
        return district, int(mo_id)
    return None, None


def create(db: Database, *, login: str, full_name: str, role: str, password: str, district_id=None, mo_id=None,
           by: str = "cli") -> User:
    login = (login or "").strip()
    if not LOGIN_RX.match(login):
        raise UserError("Логин — от 3 до 64 латинских букв, цифр, точек, дефисов или подчёркиваний")
    district_id, mo_id = _validate_place(db, role, district_id, mo_id)
    check_password(password, login)
    now = dt.datetime.now()
    uid = store.insert(db, dict(
        login=login, full_name=(full_name or login).strip(), password_hash=hash_password(password), role=role,
        district_id=district_id, mo_id=mo_id, is_active=True, created_at=now, password_changed_at=now,
    ), by=by, details={"role": role, "district": district_id, "mo": mo_id})
    if uid is None:
        raise UserError(f"Пользователь «{login}» уже есть")
    return get(db, uid)


def set_password(db: Database, login: str, password: str, by: str = "cli") -> None:
    found = by_login(db, login)
    if not found:
        raise UserError(f"Пользователя «{login}» нет")
    check_password(password, login)
    store.set_password_hash(db, login, hash_password(password), by=by)


def set_active(db: Database, user_id: int, active: bool, by: str) -> None:
    u = get(db, user_id)
    if not u:
        raise UserError("Пользователь не найден")
    store.set_active(db, u.user_id, u.login, active, by=by)


def touch_login(db: Database, user: User, stored_hash: str, password: str) -> None:
    rehashed = hash_password(password) if _hasher.check_needs_rehash(stored_hash) else None
    store.touch_login(db, user.user_id, rehashed)


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
    if store.count(db):
        return None
    kolp, mo_id, mo_name = store.demo_places(db)
    plan = [("admin", "Администратор системы", "admin", None, None),
            ("chair", "Руководитель комитета", "committee", None, None),
            ("kolpino", "Руководитель Колпинского района", "district", kolp, None),
            ("glavvrach", f"Главный врач ({mo_name})", "mo", None, mo_id),
            ("analyst", "Аналитик МИАЦ", "analyst", None, None),
            ("kadry", f"Кадровая служба ({mo_name})", "hr", None, mo_id),
            ("kadry_kz", "Кадровая служба комитета", "hr_committee", None, None)]
    made = []
    for login, name, role, d, m in plan:
        pw = generate_password()
        create(db, login=login, full_name=name, role=role, password=pw, district_id=d, mo_id=m, by="demo")
        made.append((login, ROLES[role].name + (f" ({name})" if role in ("district", "mo", "hr") else ""), pw))
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
