"""合思 contacts: departments and staff (通讯录), with the tenant's real refusal rules.

* a department name must be unique among its active siblings (412), a code among active
  departments (400 "该部门编码「…」已存在");
* disabling a department that still has enabled staff in it or below it → 412
  "要停用部门下的员工，才能停用此部门"; disabling cascades to sub-departments;
* staff need a cellphone (400); a code already used by enabled staff → 400; a phone or e-mail of a
  *disabled* staff re-enables and updates that person instead of creating a new one;
* disabling staff with pending documents (``doCheck=true``) → 403 "抱歉无法移除…";
  unknown staff ids → 403 "无效的员工信息".
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import (
    EkuaibaoSandbox,
    error,
    id_list,
    in_window,
    now_text,
    ordered,
    page,
    strip_ref,
)

STAFF_FIELDS = (
    "name",
    "nickName",
    "code",
    "cellphone",
    "email",
    "note",
    "defaultDepartment",
    "departments",
    "userId",
    "staffCustomForm",
    "globalRoaming",
)


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        raise error(400, "请求体格式错误") from None


# -- departments ----------------------------------------------------------------------------------
def find_department(ekb: EkuaibaoSandbox, ref: str) -> dict[str, Any]:
    ref = strip_ref(ref)
    found = ekb.departments.get(ref) or ekb.departments.get(ekb.ix.active_dept_code.get(ref, ""))
    if found is None:
        raise error(400, "未找到对应部门")
    return found


def descendants(ekb: EkuaibaoSandbox, dept_id: str) -> list[str]:
    out, queue = [], [dept_id]
    while queue:
        for child in ekb.ix.children.get(queue.pop(), ()):
            out.append(child)
            queue.append(child)
    return out


def check_department(ekb: EkuaibaoSandbox, data: dict[str, Any], *, self_id: str | None = None) -> str:
    name, code = (data.get("name") or "").strip(), (data.get("code") or "").strip()
    if not name:
        raise error(400, "部门名称不能为空")
    parent = data.get("parentId") or ekb.corp_id
    if parent not in ekb.departments:
        raise error(400, "上级部门不存在")
    same_name = ekb.ix.active_dept_name.get((parent, name))
    if same_name and same_name != self_id:
        raise error(412, "该部门在同级有相同的部门名称")
    same_code = ekb.ix.active_dept_code.get(code) if code else None
    if same_code and same_code != self_id:
        raise error(400, f"该部门编码「{code}」已存在")
    return parent


def create_department(ekb: EkuaibaoSandbox, data: dict[str, Any]) -> dict[str, Any]:
    parent = check_department(ekb, data)
    stamp = now_text()
    dept = {
        "id": ekb.next_id("ID_"),
        "name": data["name"].strip(),
        "parentId": parent,
        "active": True,
        "code": (data.get("code") or "").strip(),
        "updateTime": stamp,
        "createTime": stamp,
        "form": {"costCenter": "", "legalEntity": "", **(data.get("form") or {})},
        "order": data.get("order", 0),
    }
    ekb.departments[dept["id"]] = dept
    ekb.ix.put_department(dept)
    return dept


def staff_in(ekb: EkuaibaoSandbox, dept_ids: set[str]) -> list[dict[str, Any]]:
    return [
        s for s in ekb.staffs.values() if s["active"] and (set(s["departments"]) | {s["defaultDepartment"]}) & dept_ids
    ]


# -- staff ----------------------------------------------------------------------------------------
def find_staff(ekb: EkuaibaoSandbox, ref: str, by: str = "id") -> dict[str, Any] | None:
    ref = strip_ref(ref)
    if by == "code":
        return ekb.staffs.get(ekb.ix.active_staff_code.get(ref, ""))
    return ekb.staffs.get(ref)


def validate_staff(ekb: EkuaibaoSandbox, data: dict[str, Any], *, self_id: str | None = None) -> None:
    if not (data.get("name") or "").strip():
        raise error(400, "员工姓名不能为空")
    if not (data.get("cellphone") or "").strip():
        raise error(400, "手机号不能为空")
    if "email" in data and data["email"] == "":
        raise error(400, "邮箱格式不正确")
    for dept in [data.get("defaultDepartment"), *(data.get("departments") or [])]:
        if dept and (dept not in ekb.departments or not ekb.departments[dept]["active"]):
            raise error(400, f"部门[{dept}]不存在或已停用")
    code = (data.get("code") or "").strip()
    if code:
        clash = find_staff(ekb, code, by="code")
        if clash and clash["id"] != self_id:
            raise error(400, f"员工工号[{code}]已存在")


def render_staff(data: dict[str, Any], *, staff_id: str, created: str, active: bool = True) -> dict[str, Any]:
    default = data.get("defaultDepartment") or ""
    departments = list(data.get("departments") or ([default] if default else []))
    return {
        "id": staff_id,
        "name": data["name"].strip(),
        "nickName": data.get("nickName") or "",
        "code": (data.get("code") or "").strip(),
        "departments": departments,
        "defaultDepartment": default,
        "cellphone": data["cellphone"],
        "active": active,
        "userId": data.get("userid") or data.get("userId") or "",
        "email": (data.get("email") or "").lower(),
        "showEmail": data.get("email") or "",
        "external": False,
        "authState": True,
        "globalRoaming": data.get("globalRoaming") or "+86",
        "note": data.get("note") or "",
        "staffCustomForm": data.get("staffCustomForm") or {},
        "updateTime": now_text(),
        "createTime": created,
    }


def kept(staff: dict[str, Any]) -> dict[str, Any]:
    """What an update leaves as it is: the fields it does not name (an empty one is not sent back:
    合思 refuses an e-mail sent as "")."""
    return {k: staff[k] for k in STAFF_FIELDS if staff.get(k) not in (None, "")}


def upsert_new_staff(ekb: EkuaibaoSandbox, data: dict[str, Any]) -> dict[str, Any]:
    """Create one staff, or revive the disabled staff with the same phone or e-mail."""
    email = (data.get("email") or "").lower()
    candidates = (ekb.ix.staff_phone.get(data.get("cellphone") or ""), ekb.ix.staff_email.get(email) if email else None)
    revived = next((ekb.staffs[i] for i in candidates if i and not ekb.staffs[i]["active"]), None)
    if revived:
        staff = render_staff(data, staff_id=revived["id"], created=revived["createTime"])
    else:
        userid = data.get("userid") or data.get("userId")
        staff_id = f"{ekb.corp_id}:{userid}" if userid and not data.get("useNewAccount") else ekb.next_id("ID")
        if staff_id in ekb.staffs:
            staff_id = ekb.next_id("ID")
        staff = render_staff(data, staff_id=staff_id, created=now_text())
    ekb.staffs[staff["id"]] = staff
    ekb.ix.put_staff(staff)
    return staff


def store_update(ekb: EkuaibaoSandbox, staff: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    updated = render_staff(data, staff_id=staff["id"], created=staff["createTime"], active=staff["active"])
    ekb.staffs[staff["id"]] = updated
    ekb.ix.put_staff(updated)
    return updated


def add_routes(ekb: EkuaibaoSandbox) -> None:
    app = ekb.app

    @app.get("/api/openapi/v1/departments")
    async def list_departments(request: Request) -> Response:
        ekb.authed(request)
        return page(ordered([d for d in ekb.departments.values() if in_window(d, request)], request), request)

    @app.get("/api/openapi/v1/departments/{ref}")
    async def get_department(ref: str, request: Request) -> Response:
        # open-platform-docs contacts/get-departments-idOrCode.md: ``departmentBy`` is ``id`` (the
        # default) or ``code``, matching the path; only enabled departments are found, else 400
        ekb.authed(request)
        ref, by = strip_ref(ref), request.query_params.get("departmentBy", "id")
        if by not in ("id", "code"):
            raise error(400, "departmentBy 只能是 id 或 code")
        found = ekb.departments.get(ref if by == "id" else ekb.ix.active_dept_code.get(ref, ""))
        if found is None or not found.get("active", True):
            raise error(400, "未找到对应部门")
        return json_response({"value": found})

    @app.post("/api/openapi/v1/departments")
    async def post_department(request: Request) -> Response:
        ekb.authed(request)
        return json_response({"value": create_department(ekb, await body_of(request))})

    @app.post("/api/openapi/v1/departments/batch/create")
    async def batch_departments(request: Request) -> Response:
        ekb.authed(request)
        items = (await body_of(request)).get("departmentList") or []
        if not items or len(items) > 100:
            raise error(400, "departmentList 数量须在1到100之间")
        return json_response({"items": [create_department(ekb, item) for item in items]})

    @app.put("/api/openapi/v1/departments/update/{ref}")
    async def update_department(ref: str, request: Request) -> Response:
        ekb.authed(request)
        dept = ekb.departments.get(strip_ref(ref))
        if dept is None:
            raise error(400, "未找到对应部门")
        data = await body_of(request)
        parent = check_department(ekb, {**dept, **data}, self_id=dept["id"])
        if parent == dept["id"] or parent in descendants(ekb, dept["id"]):
            raise error(400, "上级部门不能是自己或下级部门")
        dept.update(
            {
                "name": data.get("name", dept["name"]).strip(),
                "parentId": parent,
                "code": (data.get("code", dept["code"]) or "").strip(),
                "form": {**dept["form"], **(data.get("form") or {})},
                "order": data.get("order", dept["order"]),
                "updateTime": now_text(),
            }
        )
        ekb.ix.put_department(dept)
        return json_response({"value": dept})

    @app.put("/api/openapi/v1/departments/disableOrEnableDepartment/{ref}")
    async def toggle_department(ref: str, request: Request) -> Response:
        ekb.authed(request)
        dept = ekb.departments.get(strip_ref(ref))
        if dept is None:
            raise error(400, "未找到对应部门")
        active = request.query_params.get("active", "true").lower() == "true"
        touched = [dept["id"]]
        if not active:
            touched += descendants(ekb, dept["id"])
            if staff_in(ekb, set(touched)):
                raise error(412, "要停用部门下的员工，才能停用此部门")
        for dept_id in touched:
            ekb.departments[dept_id].update(active=active, updateTime=now_text())
            ekb.ix.put_department(ekb.departments[dept_id])
        return json_response({"items": [ekb.departments[d] for d in touched]})

    @app.get("/api/openapi/v1.1/staffs")
    async def list_staffs(request: Request) -> Response:
        ekb.authed(request)
        active = request.query_params.get("active")
        items = [
            s
            for s in ekb.staffs.values()
            if in_window(s, request) and (active is None or s["active"] == (active == "true"))
        ]
        return page(ordered(items, request), request)

    @app.post("/api/openapi/v1/staffs/getStaffIds")
    async def staff_by_ids(request: Request) -> Response:
        ekb.authed(request)
        body = await body_of(request)
        kind, values = body.get("type", "STAFFID"), body.get("conditionIds") or []
        if not values or len(values) > 100:
            raise error(400, "conditionIds 数量须在1到100之间")
        field = {"STAFFID": "id", "CODE": "code", "CELLPHONE": "cellphone", "MAIL": "email", "USERID": "userId"}.get(
            kind
        )
        if field is None:
            raise error(400, f"不支持的查询类型 {kind}")
        wanted = set(values)
        return json_response(
            {"items": [{**s, "roles": []} for s in ekb.staffs.values() if s["active"] and s[field] in wanted]}
        )

    @app.post("/api/openapi/v1.1/staffs")
    async def post_staff(request: Request) -> Response:
        ekb.authed(request)
        data = await body_of(request)
        validate_staff(ekb, data)
        return json_response({"value": upsert_new_staff(ekb, data)})

    @app.post("/api/openapi/v1.1/staffs/batch/create")
    async def batch_staffs(request: Request) -> Response:
        ekb.authed(request)
        items = (await body_of(request)).get("staffList") or []
        if not items or len(items) > 100:
            raise error(400, "staffList 数量须在1到100之间")
        codes = [i.get("code") for i in items if i.get("code")]
        if len(codes) != len(set(codes)):
            raise error(400, "staffList 中存在重复的员工工号")
        for item in items:  # all or nothing, as the tenant validates the batch first
            validate_staff(ekb, item)
        return json_response({"items": [upsert_new_staff(ekb, item) for item in items]})

    @app.put("/api/openapi/v1.1/staffs/update/{ref}")
    async def update_staff(ref: str, request: Request) -> Response:
        ekb.authed(request)
        staff = find_staff(ekb, ref, by=request.query_params.get("type", "id"))
        if staff is None:
            raise error(403, "无效的员工信息")
        data = {**kept(staff), **await body_of(request)}
        validate_staff(ekb, data, self_id=staff["id"])
        return json_response({"value": store_update(ekb, staff, data)})

    @app.put("/api/openapi/v1.1/staffs/batch/update")
    async def batch_update_staffs(request: Request) -> Response:
        """open-platform-docs contacts/batch-update-staffs.md: ``PUT {"staffList": [{"id", …}]}`` (≤100),
        a field left out keeps its value. [I] validated all-or-nothing like batch create; ``?type=code``
        (not documented for the batch) is accepted like the single update."""
        ekb.authed(request)
        by = request.query_params.get("type", "id")
        items = (await body_of(request)).get("staffList") or []
        if not items or len(items) > 100:
            raise error(400, "staffList 数量须在1到100之间")
        pairs = []
        for item in items:
            staff = find_staff(ekb, str(item.get(by) or ""), by=by)
            if staff is None:
                raise error(403, "无效的员工信息")
            data = {**kept(staff), **item}
            validate_staff(ekb, data, self_id=staff["id"])
            pairs.append((staff, data))
        return json_response({"items": [store_update(ekb, staff, data) for staff, data in pairs]})

    @app.put("/api/openapi/v1.1/staffs/disableOrEnableStaff/{refs}")
    async def toggle_staff(refs: str, request: Request) -> Response:
        ekb.authed(request)
        q = request.query_params
        active = q.get("active", "true").lower() == "true"
        by = q.get("type", "id")
        staff = [find_staff(ekb, ref, by=by) for ref in id_list(refs)]
        if not staff or any(s is None for s in staff):
            raise error(403, "无效的员工信息")
        if not active and q.get("doCheck", "true").lower() == "true":
            blocked = [s["name"] for s in staff if s["id"] in ekb.pending_documents]
            if blocked:
                raise error(403, f"抱歉无法移除{'、'.join(blocked)}，该员工还有待处理的单据")
        for s in staff:
            s.update(active=active, updateTime=now_text())
            ekb.ix.put_staff(s)
        return json_response({"value": True})


# -- control-API mutations (what people do in the 合思 UI) ------------------------------------------
def set_pending(ekb: EkuaibaoSandbox, code: str, pending: bool = True) -> str:
    staff = next((s for s in ekb.staffs.values() if s["code"] == code), None)
    if staff is None:
        raise KeyError(f"no staff with code {code}")
    (ekb.pending_documents.add if pending else ekb.pending_documents.discard)(staff["id"])
    return staff["id"]


def edit_staff(ekb: EkuaibaoSandbox, code: str, **fields: Any) -> dict[str, Any]:
    staff = next((s for s in ekb.staffs.values() if s["code"] == code), None)
    if staff is None:
        raise KeyError(f"no staff with code {code}")
    staff.update(fields, updateTime=now_text())
    ekb.ix.put_staff(staff)
    return staff


def dept_of(ekb: EkuaibaoSandbox, code: str | None) -> str:
    """The id of the enabled department with ``code`` (the tenant's root when ``None``)."""
    if code is None:
        return ekb.corp_id
    found = ekb.ix.active_dept_code.get(code)
    if found is None:
        raise KeyError(f"no enabled department with code {code}")
    return found


def add_department(
    ekb: EkuaibaoSandbox, code: str, name: str, parent_code: str | None = None, order: int = 0
) -> dict[str, Any]:
    """A department made by hand in the 合思 UI (before or beside the sync)."""
    return create_department(ekb, {"code": code, "name": name, "parentId": dept_of(ekb, parent_code), "order": order})


def edit_department(
    ekb: EkuaibaoSandbox, code: str, name: str | None = None, parent_code: str | None = None
) -> dict[str, Any]:
    """A hand edit of a department in the 合思 UI: its name, or its parent."""
    dept = ekb.departments[dept_of(ekb, code)]
    if name is not None:
        dept["name"] = name
    if parent_code is not None:
        dept["parentId"] = dept_of(ekb, parent_code)
    dept["updateTime"] = now_text()
    ekb.ix.put_department(dept)
    return dept


def add_staff(
    ekb: EkuaibaoSandbox,
    code: str,
    name: str,
    cellphone: str,
    department_code: str | None = None,
    email: str | None = None,
    external: bool = False,
    post_type: str | None = None,
) -> dict[str, Any]:
    """A person entered by hand in the 合思 UI (before or beside the sync)."""
    dept = dept_of(ekb, department_code)
    data: dict[str, Any] = {
        "code": code,
        "name": name,
        "cellphone": cellphone,
        "defaultDepartment": dept,
        "departments": [dept],
    }
    if email:
        data["email"] = email
    if post_type:
        data["staffCustomForm"] = {"postType": post_type}
    validate_staff(ekb, data)
    staff = upsert_new_staff(ekb, {**data, "useNewAccount": True})
    staff["external"] = external
    return staff


MUTATIONS = {
    "set_pending": set_pending,
    "edit_staff": edit_staff,
    "add_department": add_department,
    "edit_department": edit_department,
    "add_staff": add_staff,
}
