"""EkuaibaoHook's department look-up against the 合思 sandbox over HTTP, as 合思 documents it
(ekuaibao/open-platform-docs docs/open-api/contacts/get-departments-idOrCode.md): ``departmentBy``
says whether the path holds an id (the default) or a code, and only enabled departments are found.
The org push settles a department create of unknown outcome by its code through this call: a code
looked up as an id is "not found", and the department would be created a second time."""

from expense_sync.hooks.ekuaibao import EkuaibaoHook


def test_a_department_is_found_by_its_code_only_when_asked_by_code(sandboxes):
    hook = EkuaibaoHook()
    corp = hook.corporation()
    created = hook.create_department({"name": "法务部", "code": "LAW", "parentId": corp})
    assert hook.get_department("LAW", by="code")["id"] == created["id"]
    assert hook.get_department(created["id"])["code"] == "LAW"
    assert hook.get_department("LAW") is None  # looked up as an id
    hook.set_department_active(created["id"], False)
    assert hook.get_department("LAW", by="code") is None  # only enabled departments are found
