"""合思 custom dimensions (自定义档案): categories and their items, with the tenant's refusal rules.

Paths, bodies and answers follow docs/vendors/research.md §1.5 and the docs repo ([V] unless marked):

* ``GET /api/openapi/v1/dimensions?start&count`` → ``{count, items:[{id, name, active, code}]}``;
* ``GET /api/openapi/v1/dimensions/items?start&count[&dimensionId&startDate&endDate&orderBy&orderByType]``
  → ``{count, items:[{id, name, active, code, dimensionId, parentId, updateTime, createTime}]}``, times
  ``"yyyy-MM-dd HH:mm:ss"`` (China time), the window on ``updateTime`` inclusive; ``start``/``count``
  are required (400 "输入存在错误:\\n- 缺少start参数"), ``count`` is clamped to 100; an unknown
  ``dimensionId`` or a malformed date answers HTTP 400 with ``{"count": 0, "items": []}``;
* ``GET /api/openapi/v1/dimensions/getDimensionByCode?code=`` → every item with that code, in any
  category, in the ``withAll`` shape (epoch-ms times, ``visibility``, ``form``, ``channel``);
* ``POST /api/openapi/v1.1/dimensions/items`` → ``{"id"}`` (bare); ``POST …/items/batch?type=id|code``
  ``{dimensionId, itemListRequest}`` → ``{"items"}``, checked item by item and refused whole at the
  first problem; ``PUT …/items/$<idOrCode>?type=id|code`` → **204, no body**; ``PUT …/$<id>/disable``
  (cascades to children) and ``…/enable`` (body ``{}`` required, ``applyToSubtree``) → **204**;
* 412 "上级档案不存在" / "上级档案[<id>]不存在", "编码[<code>]已经被占用" (single and update) /
  "该档案项编码[<code>]导入重复" (batch), "该档案项名称[<name>]导入重复", "档案项不存在",
  "当fullVisible为false时，请指定departments、roles或staffs的值", "参数staffs的值不存在或已被禁用[…]";
  with ``type=code``, 400 "类型为code时dimensionId是必填参数，请检查" and "根据code: [[<code>]]不能找到唯一的档案项".
* Preset extras (``form``, ``departments``, ``payAccountIds``): sending any of them replaces all of
  them — omitted ones are cleared; sending none keeps them.

[I] choices: a code is unique among the *enabled* items of its category (categories may share
codes); a name among the enabled items with the same parent (reset option ``unique_item_names``,
default on); the preset categories are 法人实体 (``FRST``), 成本中心 (id ``corp:成本中心预置``, code
``CBZX``), 项目 (``DA001``), 职级, 岗位 and 项目类型; item ids are ``ID_`` + 11 characters. Control
mutations (what people do in the 合思 UI): ``add_item`` (dimension, code, name, parent_code) and
``edit_item`` (dimension, code, and any of name, active, parent_code), which move ``updateTime``;
its ``skew_seconds`` (test-only) stamps the edit with 合思's clock that many seconds ahead (or, negative,
behind) the true time, as a tenant server with a wrong clock would.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, error, strip_ref

CHINA = dt.timezone(dt.timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_COUNT = 100
# local id, name, code
CATEGORIES = [
    ("法人实体", "法人实体", "FRST"),
    ("成本中心预置", "成本中心", "CBZX"),
    ("项目", "项目", "DA001"),
    ("职级预置", "职级", "ZJ"),
    ("岗位预置", "岗位", "GW"),
    ("项目类型预置", "项目类型", "XMLX"),
]
LEGAL_ENTITIES = [("1000", "示例集团上海有限公司"), ("2000", "示例集团深圳有限公司")]
FORM_EXTRAS = ("projectBase", "projectInspector", "projectManager", "projectType", "rankType", "postType")
FORM_EXTRAS += ("taxpayerType", "baseCurrencyId")


def now() -> dt.datetime:
    return dt.datetime.now(CHINA).replace(microsecond=0)


def reset(ekb: EkuaibaoSandbox, *, unique_item_names: bool = True) -> None:
    corp = ekb.corp_id
    ekb.dimension_categories = {
        f"{corp}:{local}": {"id": f"{corp}:{local}", "name": name, "active": True, "code": code}
        for local, name, code in CATEGORIES
    }
    ekb.dimension_items = {}
    ekb.unique_item_names = unique_item_names
    for code, name in LEGAL_ENTITIES:
        create_item(ekb, {"dimensionId": f"{corp}:法人实体", "code": code, "name": name, "parentId": ""}, "MANUAL")


# -- rendering ------------------------------------------------------------------------------------
def listed(item: dict[str, Any]) -> dict[str, Any]:
    """An item as ``/dimensions/items`` lists it."""
    return {
        "id": item["id"],
        "name": item["name"],
        "active": item["active"],
        "code": item["code"],
        "dimensionId": item["dimensionId"],
        "parentId": item["parentId"],
        "updateTime": item["updated"].strftime(TIME_FORMAT),
        "createTime": item["created"].strftime(TIME_FORMAT),
    }


def with_all(ekb: EkuaibaoSandbox, item: dict[str, Any]) -> dict[str, Any]:
    """An item with every field (``withAll`` / ``getDimensionByCode``): epoch-ms times."""
    leaf = not any(i["parentId"] == item["id"] for i in ekb.dimension_items.values())
    return {
        "version": item["version"],
        "active": item["active"],
        "createTime": int(item["created"].timestamp() * 1000),
        "updateTime": int(item["updated"].timestamp() * 1000),
        "name": item["name"],
        "code": item["code"],
        "corporationId": ekb.corp_id,
        "parentId": item["parentId"],
        "id": item["id"],
        "dimensionId": item["dimensionId"],
        "channel": item["channel"],
        "visibility": item["visibility"],
        "payAccountIds": item["payAccountIds"],
        "form": item["form"],
        "departments": item["departments"],
        "leaf": leaf,
    }


# -- rules ----------------------------------------------------------------------------------------
def category(ekb: EkuaibaoSandbox, ref: str, by: str = "id") -> dict[str, Any]:
    found = next(
        (c for c in ekb.dimension_categories.values() if (c["code"] if by == "code" else c["id"]) == ref), None
    )
    if found is None:
        if by == "code":
            raise error(400, f"根据code: [{ref}]不能找到唯一档案")
        raise error(400, "档案类别不存在")
    return found


def item_by(ekb: EkuaibaoSandbox, ref: str, *, by: str, dimension: str | None) -> dict[str, Any]:
    ref = strip_ref(ref)
    if by == "code":
        matches = [i for i in ekb.dimension_items.values() if i["code"] == ref and i["dimensionId"] == dimension]
        if len(matches) != 1:
            active = [i for i in matches if i["active"]]
            if len(active) != 1:
                raise error(400, f"根据code: [[{ref}]]不能找到唯一的档案项")
            matches = active
        return matches[0]
    if ref not in ekb.dimension_items:
        raise error(412, "档案项不存在")
    return ekb.dimension_items[ref]


def check_visibility(ekb: EkuaibaoSandbox, visibility: dict[str, Any] | None) -> dict[str, Any]:
    visibility = visibility or {}
    lists = {k: list(visibility.get(k) or []) for k in ("staffs", "roles", "departments")}
    full = visibility.get("fullVisible", True)
    if not full and not any(lists.values()):
        raise error(412, "当fullVisible为false时，请指定departments、roles或staffs的值")
    unknown_staff = [s for s in lists["staffs"] if s not in ekb.staffs or not ekb.staffs[s]["active"]]
    if unknown_staff:
        raise error(412, f"参数staffs的值不存在或已被禁用[{','.join(unknown_staff)}]")
    unknown_depts = [d for d in lists["departments"] if d not in ekb.departments]
    if unknown_depts:
        raise error(412, f"参数departments的值不存在或已被禁用[{','.join(unknown_depts)}]")
    return {"fullVisible": bool(full), **lists, "departmentsIncludeChildren": True}


def active_index(ekb: EkuaibaoSandbox, dimension: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The enabled items of a category by code and by (parent, name): built once per request."""
    codes, names = {}, {}
    for item in ekb.dimension_items.values():
        if item["active"] and item["dimensionId"] == dimension:
            codes[item["code"]] = item["id"]
            names[(item["parentId"], item["name"])] = item["id"]
    return codes, names


def check_item(
    ekb: EkuaibaoSandbox,
    data: dict[str, Any],
    *,
    batch: bool,
    self_id: str | None = None,
    index: tuple[dict, dict] | None = None,
) -> None:
    """The create/update rules, in the tenant's order (raises the first problem)."""
    name, code = (data.get("name") or "").strip(), (data.get("code") or "").strip()
    if not name:
        raise error(400, "档案值名称不能为空")
    if len(name) > 300:
        raise error(400, "档案值名称最大不能超过300个字")
    if not code:
        raise error(400, "档案值编码不能为空")
    dimension, parent = data["dimensionId"], data.get("parentId") or ""
    if parent:
        owner = ekb.dimension_items.get(parent)
        if owner is None or owner["dimensionId"] != dimension or parent == self_id:
            raise error(412, f"上级档案[{parent}]不存在" if batch or self_id else "上级档案不存在")
    codes, names = index or active_index(ekb, dimension)
    if codes.get(code, self_id) != self_id:
        raise error(412, f"该档案项编码[{code}]导入重复" if batch else f"编码[{code}]已经被占用")
    if ekb.unique_item_names and names.get((parent, name), self_id) != self_id:
        raise error(412, f"该档案项名称[{name}]导入重复")


def extras(data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Preset extras: any one sent replaces them all; none sent keeps the current ones."""
    sent = any(k in data for k in ("form", "departments", "payAccountIds"))
    if current is not None and not sent:
        return {k: current[k] for k in ("form", "departments", "payAccountIds")}
    form = data.get("form") or {}
    return {
        "form": {k: form.get(k, "") for k in FORM_EXTRAS},
        "departments": list(data.get("departments") or []),
        "payAccountIds": list(data.get("payAccountIds") or []),
    }


def create_item(ekb: EkuaibaoSandbox, data: dict[str, Any], channel: str = "API") -> dict[str, Any]:
    ekb._seq += 1
    stamp = now()
    item = {
        "id": f"ID_{ekb._seq:011X}",
        "name": data["name"].strip(),
        "code": data["code"].strip(),
        "active": True,
        "dimensionId": data["dimensionId"],
        "parentId": data.get("parentId") or "",
        "visibility": check_visibility(ekb, data.get("visibility")),
        "channel": channel,
        "version": 1,
        "created": stamp,
        "updated": stamp,
        **extras(data),
    }
    ekb.dimension_items[item["id"]] = item
    return item


def touch(item: dict[str, Any], **changes: Any) -> None:
    item.update(changes, updated=now(), version=item["version"] + 1)


def subtree(ekb: EkuaibaoSandbox, item_id: str) -> list[dict[str, Any]]:
    out, todo = [], [item_id]
    while todo:
        current = todo.pop()
        children = [i for i in ekb.dimension_items.values() if i["parentId"] == current]
        out += children
        todo += [c["id"] for c in children]
    return out


# -- routes ---------------------------------------------------------------------------------------
async def body_of(request: Request, *, required: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        if required:
            raise error(400, "请求体不能为空")
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise error(400, "请求体格式错误") from None


def paging(request: Request) -> tuple[int, int]:
    q = request.query_params
    for name in ("start", "count"):
        if name not in q:
            raise error(400, f"输入存在错误:\n- 缺少{name}参数")
    try:
        return max(0, int(q["start"])), min(MAX_COUNT, max(1, int(q["count"])))
    except ValueError:
        raise error(400, "输入存在错误:\n- start和count必须是数字") from None


def window(request: Request) -> tuple[dt.datetime | None, dt.datetime | None]:
    def parse(name: str) -> dt.datetime | None:
        value = request.query_params.get(name)
        return dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=CHINA) if value else None

    return parse("startDate"), parse("endDate")


def resolve_refs(ekb: EkuaibaoSandbox, data: dict[str, Any], by: str, dimension: str) -> dict[str, Any]:
    """``type=code`` bodies name the parent by code: turn it into the id."""
    if by == "code" and data.get("parentId"):
        data = {**data, "parentId": item_by(ekb, data["parentId"], by="code", dimension=dimension)["id"]}
    return data


def add_routes(ekb: EkuaibaoSandbox) -> None:  # noqa: C901 - one closure per route
    app = ekb.app

    @app.get("/api/openapi/v1/dimensions")
    async def list_categories(request: Request) -> Response:
        ekb.authed(request)
        start, count = paging(request)
        rows = list(ekb.dimension_categories.values())
        return json_response({"count": len(rows), "items": rows[start : start + count]})

    @app.get("/api/openapi/v1/dimensions/items")
    async def list_items(request: Request) -> Response:
        ekb.authed(request)
        start, count = paging(request)
        q = request.query_params
        dimension = q.get("dimensionId")
        try:
            since, until = window(request)
        except ValueError:
            return json_response({"count": 0, "items": []}, status=400)
        if dimension and dimension not in ekb.dimension_categories:
            return json_response({"count": 0, "items": []}, status=400)
        rows = [
            i
            for i in ekb.dimension_items.values()
            if (not dimension or i["dimensionId"] == dimension)
            and (since is None or i["updated"] >= since)
            and (until is None or i["updated"] <= until)
        ]
        if q.get("orderBy") == "updateTime":
            rows.sort(key=lambda i: (i["updated"], i["id"]), reverse=q.get("orderByType") == "desc")
        return json_response({"count": len(rows), "items": [listed(i) for i in rows[start : start + count]]})

    @app.get("/api/openapi/v1/dimensions/getDimensionByCode")
    async def items_by_code(request: Request) -> Response:
        ekb.authed(request)
        code = request.query_params.get("code")
        if not code:
            raise error(400, "输入存在错误:\n- 缺少code参数")
        rows = [with_all(ekb, i) for i in ekb.dimension_items.values() if i["code"] == code]
        return json_response({"count": len(rows), "items": rows})

    @app.post("/api/openapi/v1.1/dimensions/items")
    async def post_item(request: Request) -> Response:
        ekb.authed(request)
        data = await body_of(request)
        category(ekb, data.get("dimensionId") or "")
        check_item(ekb, data, batch=False)
        return json_response({"id": create_item(ekb, data)["id"]})

    @app.post("/api/openapi/v1.1/dimensions/items/batch")
    async def post_items(request: Request) -> Response:
        ekb.authed(request)
        by = request.query_params.get("type", "id")
        data = await body_of(request)
        dimension = category(ekb, data.get("dimensionId") or "", by)["id"]
        items = [resolve_refs(ekb, {**i, "dimensionId": dimension}, by, dimension) for i in data["itemListRequest"]]
        if not items or len(items) > 100:
            raise error(400, "itemListRequest 数量须在1到100之间")
        seen: set[str] = set()
        index = active_index(ekb, dimension)
        for item in items:  # checked in order; the first problem refuses the whole batch
            check_item(ekb, item, batch=True, index=index)
            check_visibility(ekb, item.get("visibility"))
            if item["code"] in seen:
                raise error(412, f"该档案项编码[{item['code']}]导入重复")
            seen.add(item["code"])
        created = [create_item(ekb, item) for item in items]
        return json_response({"items": [{k: i[k] for k in BATCH_FIELDS} for i in created]})

    @app.put("/api/openapi/v1.1/dimensions/items/{ref}")
    async def put_item(ref: str, request: Request) -> Response:
        ekb.authed(request)
        by = request.query_params.get("type", "id")
        data = await body_of(request)
        dimension = None
        if by == "code":
            if not data.get("dimensionId"):
                raise error(400, "类型为code时dimensionId是必填参数，请检查")
            dimension = category(ekb, data["dimensionId"], "code")["id"]
        item = item_by(ekb, ref, by=by, dimension=dimension)
        data = resolve_refs(ekb, {k: v for k, v in data.items() if k != "dimensionId"}, by, item["dimensionId"])
        merged = {**item, **{k: data[k] for k in ("name", "code", "parentId") if k in data}}
        check_item(ekb, merged, batch=False, self_id=item["id"])
        visibility = check_visibility(ekb, data["visibility"]) if "visibility" in data else item["visibility"]
        touch(
            item,
            name=merged["name"].strip(),
            code=merged["code"].strip(),
            parentId=merged["parentId"] or "",
            visibility=visibility,
            **extras(data, item),
        )
        return Response(status_code=204)

    def toggle_target(ref: str, request: Request) -> dict[str, Any]:
        q = request.query_params
        by, dimension = q.get("type", "id"), None
        if by == "code":
            if not q.get("dimensionId"):
                raise error(400, "类型为code时dimensionId是必填参数，请检查")
            dimension = category(ekb, q["dimensionId"], "code")["id"]
        return item_by(ekb, ref, by=by, dimension=dimension)

    @app.put("/api/openapi/v1.1/dimensions/items/{ref}/disable")
    async def disable_item(ref: str, request: Request) -> Response:
        ekb.authed(request)
        item = toggle_target(ref, request)
        for target in [item, *subtree(ekb, item["id"])]:
            if target["active"]:
                touch(target, active=False)
        return Response(status_code=204)

    @app.put("/api/openapi/v1.1/dimensions/items/{ref}/enable")
    async def enable_item(ref: str, request: Request) -> Response:
        ekb.authed(request)
        item = toggle_target(ref, request)
        data = await body_of(request, required=True)
        targets = [item, *(subtree(ekb, item["id"]) if data.get("applyToSubtree") else [])]
        for target in targets:
            if not target["active"]:
                check_item(ekb, target, batch=False, self_id=target["id"])
                touch(target, active=True)
        return Response(status_code=204)


BATCH_FIELDS = ("id", "dimensionId", "code", "name", "visibility", "parentId", "form", "payAccountIds", "departments")


# -- control-API mutations (what people do in the 合思 UI) ------------------------------------------
def _category_named(ekb: EkuaibaoSandbox, dimension: str) -> str:
    for c in ekb.dimension_categories.values():
        if dimension in (c["id"], c["name"], c["code"]):
            return c["id"]
    raise KeyError(f"no dimension category {dimension!r}")


def _item_coded(ekb: EkuaibaoSandbox, dimension: str, code: str) -> dict[str, Any]:
    category_id = _category_named(ekb, dimension)
    matches = [i for i in ekb.dimension_items.values() if i["dimensionId"] == category_id and i["code"] == code]
    if not matches:
        raise KeyError(f"no {dimension} item with code {code}")
    return max(matches, key=lambda i: i["active"])


def add_item(ekb: EkuaibaoSandbox, dimension: str, code: str, name: str, parent_code: str | None = None) -> dict:
    category_id = _category_named(ekb, dimension)
    parent = _item_coded(ekb, dimension, parent_code)["id"] if parent_code else ""
    return listed(
        create_item(ekb, {"dimensionId": category_id, "code": code, "name": name, "parentId": parent}, "MANUAL")
    )


def edit_item(ekb: EkuaibaoSandbox, dimension: str, code: str, skew_seconds: int = 0, **fields: Any) -> dict[str, Any]:
    item = _item_coded(ekb, dimension, code)
    unknown = set(fields) - {"name", "active", "parent_code"}
    if unknown:
        raise ValueError(f"edit_item changes name, active or parent_code, not {sorted(unknown)}")
    changes = {k: v for k, v in fields.items() if k in ("name", "active")}
    if "parent_code" in fields:
        parent = fields["parent_code"]
        changes["parentId"] = _item_coded(ekb, dimension, parent)["id"] if parent else ""
    touch(item, **changes)
    item["updated"] += dt.timedelta(seconds=skew_seconds)
    return listed(item)


MUTATIONS = {"add_item": add_item, "edit_item": edit_item}
