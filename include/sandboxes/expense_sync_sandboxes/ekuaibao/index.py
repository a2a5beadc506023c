"""Lookups the 合思 contact rules need, kept up to date on every write (the tenant has 100 000s of staff).

Every write to a department or a staff record goes through :meth:`ContactIndex.put_department` /
:meth:`ContactIndex.put_staff`, which re-index that one record: active codes, names among active
siblings, phones and e-mails, and the department tree.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class ContactIndex:
    def __init__(self) -> None:
        self.children: dict[str, list[str]] = defaultdict(list)  # parent id -> department ids
        self.active_dept_code: dict[str, str] = {}  # code -> id (enabled departments)
        self.active_dept_name: dict[tuple[str, str], str] = {}  # (parent id, name) -> id (enabled)
        self.active_staff_code: dict[str, str] = {}  # code -> id (enabled staff)
        self.staff_phone: dict[str, str] = {}  # cellphone -> id (any staff)
        self.staff_email: dict[str, str] = {}  # lower-cased e-mail -> id (any staff)
        self._dept_keys: dict[str, tuple] = {}
        self._staff_keys: dict[str, tuple] = {}

    @staticmethod
    def _drop(index: dict, key: Any, record_id: str) -> None:
        if key is not None and index.get(key) == record_id:
            del index[key]

    def put_department(self, dept: dict[str, Any]) -> None:
        dept_id = dept["id"]
        old = self._dept_keys.get(dept_id)
        if old is None:
            self.children[dept["parentId"]].append(dept_id)
        else:
            old_parent, old_code, old_name = old
            self._drop(self.active_dept_code, old_code, dept_id)
            self._drop(self.active_dept_name, old_name, dept_id)
            if old_parent != dept["parentId"]:
                self.children[old_parent].remove(dept_id)
                self.children[dept["parentId"]].append(dept_id)
        code = dept["code"] if dept["active"] and dept["code"] else None
        name = (dept["parentId"], dept["name"]) if dept["active"] else None
        if code:
            self.active_dept_code[code] = dept_id
        if name:
            self.active_dept_name[name] = dept_id
        self._dept_keys[dept_id] = (dept["parentId"], code, name)

    def put_staff(self, staff: dict[str, Any]) -> None:
        staff_id = staff["id"]
        old = self._staff_keys.get(staff_id)
        if old is not None:
            old_code, old_phone, old_email = old
            self._drop(self.active_staff_code, old_code, staff_id)
            self._drop(self.staff_phone, old_phone, staff_id)
            self._drop(self.staff_email, old_email, staff_id)
        code = staff["code"] if staff["active"] and staff["code"] else None
        phone, email = staff["cellphone"] or None, staff["email"] or None
        if code:
            self.active_staff_code[code] = staff_id
        if phone:
            self.staff_phone[phone] = staff_id
        if email:
            self.staff_email[email] = staff_id
        self._staff_keys[staff_id] = (code, phone, email)
