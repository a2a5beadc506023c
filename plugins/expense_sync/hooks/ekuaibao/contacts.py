"""合思 contacts (通讯录): departments and staff, read and written.

Endpoints and refusals: ``docs/vendors/ekuaibao.md``."""

from __future__ import annotations

from typing import Any, Literal

from expense_sync.hooks.ekuaibao.client import PAGE_SIZE, EkuaibaoClient
from expense_sync.hooks.errors import VendorRequestError


class ContactsApi(EkuaibaoClient):
    """Departments and staff."""

    # -- reads ------------------------------------------------------------------------------------
    def iter_departments(self, start_date: str | None = None, end_date: str | None = None):
        """Pages of departments (disabled ones included), optionally changed in a time window."""
        yield from self._list("/api/openapi/v1/departments", self._window(start_date, end_date))

    def iter_staffs(self, start_date: str | None = None, end_date: str | None = None):
        """Pages of staff, enabled and disabled, optionally changed in a time window."""
        yield from self._list("/api/openapi/v1.1/staffs", self._window(start_date, end_date))

    def all_departments(self) -> list[dict]:
        """Every department, enabled and disabled: what 合思 holds, to compare with."""
        return [dept for page in self.iter_departments() for dept in page]

    def all_staffs(self) -> list[dict]:
        """Every staff, enabled and disabled (``active`` left out), to compare with."""
        return [staff for page in self.iter_staffs() for staff in page]

    def get_department(self, id_or_code: str, *, by: Literal["id", "code"] = "id") -> dict | None:
        """One **enabled** department by id or by code (``departmentBy``, default ``id``: a code looked
        up as an id is not found), or ``None``."""
        try:
            path = f"/api/openapi/v1/departments/${id_or_code}"
            return self.request("GET", path, params={"departmentBy": by})["value"]
        except VendorRequestError as err:
            if err.status in (400, 404, 412):
                return None
            raise

    def find_staffs(self, by: str, values: list[str]) -> list[dict]:
        """Enabled staff by ``STAFFID``, ``CODE``, ``CELLPHONE``, ``MAIL`` or ``USERID`` (≤100 a call)."""
        found: list[dict] = []
        for i in range(0, len(values), PAGE_SIZE):
            body = self.request(
                "POST",
                "/api/openapi/v1/staffs/getStaffIds",
                json={"type": by, "conditionIds": values[i : i + PAGE_SIZE]},
            )
            found.extend(body.get("items") or [])
        return found

    # -- writes -----------------------------------------------------------------------------------
    def create_department(self, department: dict[str, Any]) -> dict:
        body = self.request("POST", "/api/openapi/v1/departments", json=department, idempotent=False)
        return body["value"]

    def create_departments(self, departments: list[dict[str, Any]]) -> list[dict]:
        """Create up to 100 departments in one call; returns them with their new ids."""
        body = self.request(
            "POST", "/api/openapi/v1/departments/batch/create", json={"departmentList": departments}, idempotent=False
        )
        return body.get("items") or []

    def update_department(self, department_id: str, department: dict[str, Any]) -> dict:
        body = self.request("PUT", f"/api/openapi/v1/departments/update/${department_id}", json=department)
        return body["value"]

    def set_department_active(self, department_id: str, active: bool) -> None:
        self.request(
            "PUT",
            f"/api/openapi/v1/departments/disableOrEnableDepartment/${department_id}",
            params={"active": str(active).lower()},
        )

    def create_staffs(self, staff: list[dict[str, Any]]) -> list[dict]:
        """Create up to 100 staff in one call; returns them with their new ids."""
        body = self.request(
            "POST", "/api/openapi/v1.1/staffs/batch/create", json={"staffList": staff}, idempotent=False
        )
        return body.get("items") or []

    def update_staff(self, staff_id: str, staff: dict[str, Any]) -> dict:
        body = self.request("PUT", f"/api/openapi/v1.1/staffs/update/${staff_id}", params={"type": "id"}, json=staff)
        return body.get("value") or body

    def update_staffs(self, staff: list[dict[str, Any]]) -> list[dict]:
        """Update up to 100 staff in one call (``PUT``, as documented); each item carries its ``id``.
        A field left out keeps 合思's value (an e-mail may be left out, never sent as ``""``)."""
        body = self.request("PUT", "/api/openapi/v1.1/staffs/batch/update", json={"staffList": staff})
        return body.get("items") or []

    def set_staff_active(self, staff_ids: list[str], active: bool, *, check_pending: bool = True) -> None:
        """Enable or disable staff; disabling someone with pending documents is refused (403)."""
        self.request(
            "PUT",
            f"/api/openapi/v1.1/staffs/disableOrEnableStaff/[{','.join(staff_ids)}]",
            params={"active": str(active).lower(), "doCheck": str(check_pending).lower(), "type": "id"},
        )
