"""The audit log: which actions are audited and their names; storage is ``data_access.audit``."""
from __future__ import annotations

from data_access.audit import record, search

__all__ = ["ACTIONS", "record", "search"]

ACTIONS = {
    "login_success": "Вход", "login_failure": "Неудачный вход", "login_locked": "Вход заблокирован", "logout": "Выход",
    "export": "Выгрузка", "view_patients": "Просмотр списка пациентов", "forbidden": "Отказ в доступе",
    "task_create": "Создание задачи", "task_update": "Изменение задачи", "task_comment": "Комментарий к задаче",
    "target_change": "Изменение цели", "user_create": "Создание пользователя", "user_update": "Изменение пользователя",
    "password_change": "Смена пароля", "token_create": "Создание API-токена", "token_revoke": "Отзыв API-токена",
}
