"""DingTalk's gettoken as the vendor documents it ("有效期内重复获取会返回相同结果并自动续期，过期后获取会
返回新的access_token"), served by the sandbox, and the hook coping with a token expired early."""

from expense_sync.hooks.dingtalk import DingTalkHook


def test_gettoken_returns_the_same_token_until_it_expires(sandboxes):
    control = sandboxes.control("dingtalk")
    first, second = DingTalkHook(), DingTalkHook()  # two tasks, two token caches
    assert first.get_token() == second.get_token()
    assert control.stats()["tokens_issued"] == 1

    control.expire_tokens()  # expired early: the next gettoken answers a new one, and the hook uses it
    assert len(list(first.members(2))) > 0
    assert first.get_token() != second.get_token()
    assert (first.stats["token_fetches"], first.stats["token_refusals"]) == (2, 1)
    assert control.stats()["tokens_issued"] == 2


def test_topapi_refuses_a_bad_token_as_dingtalk_does_and_the_hook_fetches_a_new_one(sandboxes):
    """oapi.dingtalk.com answers a bad token on topapi with errcode 88 and sub_code "40014" (a probe of
    the live API, docs/vendors/dingtalk.md Contradiction 1): the hook takes it for a stale token."""
    import requests

    answer = requests.post(
        sandboxes.url("dingtalk") + "/topapi/v2/user/get", params={"access_token": "test"}, json={}, timeout=10
    ).json()
    assert (answer["errcode"], answer["sub_code"], answer["sub_msg"]) == (88, "40014", "不合法的access_token")

    hook = DingTalkHook()
    hook.get_token()
    hook._token = "revoked-elsewhere"  # the vendor no longer knows the cached token
    assert len(list(hook.members(2))) > 0
    assert (hook.stats["token_fetches"], hook.stats["token_refusals"]) == (2, 1)


def test_the_whole_tree_comes_in_one_call_and_gives_what_the_walk_gives(sandboxes):
    """department/list with fetch_child: one call for every department, the same records as the walk
    with listsub (root first, a parent before its children)."""
    control = sandboxes.control("dingtalk")
    before = control.stats()["calls"]
    tree = list(DingTalkHook().departments())
    calls = control.stats()["calls"]

    assert calls.get("GET /department/list", 0) - before.get("GET /department/list", 0) == 1
    assert calls.get("POST /topapi/v2/department/listsub", 0) == before.get("POST /topapi/v2/department/listsub", 0)
    walker = DingTalkHook()  # the walk, level by level with listsub, as the fallback does it
    walked, queue = [{"dept_id": 1, "name": walker.get_department(1)["name"], "parent_id": None}], [1]
    while queue:
        level = walker.list_sub_departments(queue.pop(0))
        walked += level
        queue += [d["dept_id"] for d in level]
    fields = ("dept_id", "name", "parent_id", "order")
    assert [{k: d.get(k) for k in fields} for d in tree] == [{k: d.get(k) for k in fields} for d in walked]
    assert len(tree) == 12
    positions = {d["dept_id"]: n for n, d in enumerate(tree)}
    assert all(positions[d["parent_id"]] < positions[d["dept_id"]] for d in tree[1:])


def test_a_refused_department_list_falls_back_to_walking_the_tree(monkeypatch):
    """DingTalk refusing department/list with an errcode (here 22, what oapi answers for a path it
    does not serve: the older API withdrawn) is no failure: the hook walks the tree with listsub and
    says so in its counts."""
    from fastapi import FastAPI, Request

    from testkit import point_connection, serve

    children = {
        1: [{"dept_id": 2, "name": "财务部", "parent_id": 1}],
        2: [{"dept_id": 3, "name": "报销组", "parent_id": 2}],
    }
    app = FastAPI()
    asked = []

    @app.get("/gettoken")
    async def gettoken():
        return {"errcode": 0, "errmsg": "ok", "access_token": "t"}

    @app.post("/topapi/v2/department/get")
    async def department_get():
        return {"errcode": 0, "errmsg": "ok", "result": {"dept_id": 1, "name": "集团"}}

    @app.get("/department/list")
    async def department_list():
        asked.append("department/list")
        return {"errcode": 22, "errmsg": "Invalid method"}

    @app.post("/topapi/v2/department/listsub")
    async def listsub(request: Request):
        dept_id = (await request.json())["dept_id"]
        asked.append(f"listsub {dept_id}")
        return {"errcode": 0, "errmsg": "ok", "result": children.get(dept_id, [])}

    url, server, thread = serve(app)
    try:
        point_connection(monkeypatch, "oa_dingtalk", url)
        hook = DingTalkHook()
        assert [d["dept_id"] for d in hook.departments()] == [1, 2, 3]
    finally:
        server.should_exit = True
        thread.join(5)
    assert asked == ["department/list", "listsub 1", "listsub 2", "listsub 3"]
    assert (hook.stats["department_tree"], hook.stats["department_walk"]) == (0, 1)


def test_members_give_each_department_s_first_listed_leader_and_drop_the_flag(monkeypatch):
    """v2/user/list's ``leader`` (是否为部门的主管) is about the department listed: the hook keeps the
    first member listed with it as that department's manager, across pages, and takes it off the
    record so a person listed in two departments is one record."""
    from fastapi import FastAPI, Request

    from testkit import point_connection, serve

    def user(userid: str, leader: bool) -> dict:
        return {"userid": userid, "name": userid, "dept_id_list": [2, 3], "leader": leader}

    pages = {  # dept_id -> pages of its listing, in the order DingTalk gives them
        2: [[user("a", False), user("b", False)], [user("c", True), user("d", True)]],
        3: [[user("c", False), user("a", True)]],
        4: [[user("b", False)]],
    }
    app = FastAPI()

    @app.get("/gettoken")
    async def gettoken():
        return {"errcode": 0, "errmsg": "ok", "access_token": "t"}

    @app.post("/topapi/v2/user/list")
    async def user_list(request: Request):
        body = await request.json()
        listing, cursor = pages[body["dept_id"]], body["cursor"]
        result = {"has_more": cursor + 1 < len(listing), "list": listing[cursor]}
        if result["has_more"]:
            result["next_cursor"] = cursor + 1
        return {"errcode": 0, "errmsg": "ok", "result": result}

    url, server, thread = serve(app)
    try:
        point_connection(monkeypatch, "oa_dingtalk", url)
        hook = DingTalkHook()
        listed = {dept: list(hook.members(dept)) for dept in pages}
    finally:
        server.should_exit = True
        thread.join(5)
    assert hook.listed_managers == {"2": "c", "3": "a"}  # several leaders: the first listed; none in 4
    assert [u["userid"] for u in listed[2]] == ["a", "b", "c", "d"]
    assert all("leader" not in u for users in listed.values() for u in users)
    assert listed[2][2] == listed[3][0]  # c, leader of 2 and not of 3: the same record in both listings


def test_the_sandbox_flags_each_department_s_manager_in_its_own_listing_only(sandboxes):
    from expense_sync_sandboxes.orgdata import Directory

    company = Directory(seed=1, departments=12, employees=60)
    hook = DingTalkHook()
    for dept in company.departments:
        list(hook.members(dept))
    assert hook.listed_managers == {
        str(d): m for d in company.departments if (m := company.department_manager(d)) is not None
    }
    assert len(hook.listed_managers) == 11
