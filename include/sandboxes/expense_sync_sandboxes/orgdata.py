"""A deterministic synthetic company: departments and people, and the changes an OA sees daily.

Both OA sandboxes (DingTalk, WeCom) render the same :class:`Directory` in their own wire shape, so
the same seed gives the same company whichever OA is configured. Every mutation an org sync must
handle is here: hire, leave, transfer, rename, new department, removed department, and the bad
records a real directory contains (malformed e-mail or phone, duplicate employee number, a person
without a department, a second root, an orphaned department, a cycle).

Every mutation tells the directory's ``listeners`` what it changed, as ``(kind, key)``: ``user_add``,
``user_modify``, ``user_leave`` with a userid, ``dept_create``, ``dept_modify``, ``dept_remove`` with a
department id. The OA sandboxes push them to the receiver as their contact-change events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩"
    "凯健俊帆帅旭宁瑞博文睿轩涵晨阳雪婷颖琳欣怡佳悦思雨子墨一诺梓萱浩然"
)
UNITS = [
    "财务部",
    "人力资源部",
    "研发中心",
    "销售部",
    "市场部",
    "采购部",
    "法务部",
    "行政部",
    "审计部",
    "运营部",
    "客服部",
    "质量部",
    "生产部",
    "物流部",
    "信息技术部",
    "战略部",
    "投资部",
    "品牌部",
]
TITLES = ["工程师", "高级工程师", "经理", "主管", "专员", "会计", "出纳", "总监", "助理", "分析师", "顾问"]
ROOT_ID = 1
EPOCH_MS = 1_577_836_800_000  # 2020-01-01, hire dates start here


@dataclass
class Department:
    id: int
    name: str
    parent_id: int | None
    order: int


@dataclass
class Person:
    userid: str
    name: str
    job_number: str
    mobile: str
    email: str
    dept_ids: list[int]
    title: str
    hired_date: int  # epoch ms
    active: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    manager: str | None = None  # userid of the direct manager (主管) when the OA names one (set_person)


class Directory:
    """The company as the OA knows it."""

    def __init__(self, seed: int = 1, departments: int = 20, employees: int = 200, company: str = "示例集团") -> None:
        self.rng = random.Random(seed)
        self.departments: dict[int, Department] = {ROOT_ID: Department(ROOT_ID, company, None, 0)}
        self.people: dict[str, Person] = {}
        self._children: dict[int | None, list[int]] = {None: [ROOT_ID]}  # kept up to date on every change
        self._members: dict[int, list[Person]] | None = None  # rebuilt after people change
        self._next_dept = ROOT_ID + 1
        self._next_person = 1
        self.listeners: list[Callable[[str, Any], None]] = []  # set after the seed company is built
        for _ in range(max(0, departments - 1)):
            self.new_department()
        leaves = [d for d in self.departments if d != ROOT_ID] or [ROOT_ID]
        for i in range(employees):
            self.hire(dept_id=leaves[i % len(leaves)] if i < len(leaves) else self.rng.choice(leaves))

    # -- queries ----------------------------------------------------------------------------------
    def children(self, dept_id: int) -> list[Department]:
        found = (self.departments[c] for c in self._children.get(dept_id, ()))
        return sorted(found, key=lambda d: (d.order, d.id))

    def members(self, dept_id: int) -> list[Person]:
        if self._members is None:  # rebuilt once after people changed, then every lookup is a dict hit
            self._members = {}
            for person in self.people.values():
                for dept in person.dept_ids:
                    self._members.setdefault(dept, []).append(person)
        return self._members.get(dept_id, [])

    def department_manager(self, dept_id: int) -> str | None:
        """The department's manager: its first member (the sandbox's convention), or nobody when empty."""
        members = self.members(dept_id)
        return members[0].userid if members else None

    def _people_changed(self) -> None:
        self._members = None

    def _changed(self, kind: str, key: Any) -> None:
        for listener in self.listeners:
            listener(kind, key)

    def dump(self) -> dict[str, Any]:
        return {
            "departments": [asdict(d) for d in self.departments.values()],
            "people": [asdict(p) for p in self.people.values()],
        }

    # -- mutations --------------------------------------------------------------------------------
    def new_department(self, parent_id: int | None = None, name: str | None = None) -> int:
        dept_id = self._next_dept
        self._next_dept += 1
        if parent_id is None:
            # Shallow, bushy trees like real companies: prefer parents near the top.
            candidates = sorted(self.departments)
            parent_id = candidates[int(len(candidates) * self.rng.random() ** 2)]
        if parent_id not in self.departments:
            raise KeyError(f"no department {parent_id}")
        base = name or UNITS[dept_id % len(UNITS)]
        sibling_names = {d.name for d in self.children(parent_id)}
        unique, n = base, 1
        while unique in sibling_names:
            n += 1
            unique = f"{base}{n}"
        self.departments[dept_id] = Department(dept_id, unique, parent_id, len(sibling_names) + 1)
        self._children.setdefault(parent_id, []).append(dept_id)
        self._changed("dept_create", dept_id)
        return dept_id

    def hire(self, dept_id: int | None = None, **fields: Any) -> str:
        n = self._next_person
        self._next_person += 1
        rng = self.rng
        if dept_id is None:
            dept_id = rng.choice([d for d in self.departments if d != ROOT_ID] or [ROOT_ID])
        person = Person(
            userid=f"u{n:07d}",
            name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            job_number=f"E{n:07d}",
            mobile=f"1{rng.choice('3578')}{n:09d}"[:11],
            email=f"e{n:07d}@example.com",
            dept_ids=[dept_id],
            title=rng.choice(TITLES),
            hired_date=EPOCH_MS + n * 3_600_000,
        )
        for key, value in fields.items():
            setattr(person, key, value)
        self.people[person.userid] = person
        self._people_changed()
        self._changed("user_add", person.userid)
        return person.userid

    def leave(self, userid: str) -> None:
        del self.people[userid]
        self._people_changed()
        self._changed("user_leave", userid)

    def transfer(self, userid: str, dept_id: int) -> None:
        if dept_id not in self.departments:
            raise KeyError(f"no department {dept_id}")
        self.people[userid].dept_ids = [dept_id]
        self._people_changed()
        self._changed("user_modify", userid)

    def rename_person(self, userid: str, name: str) -> None:
        self.people[userid].name = name
        self._changed("user_modify", userid)

    def rename_department(self, dept_id: int, name: str) -> None:
        self.departments[dept_id].name = name
        self._changed("dept_modify", dept_id)

    def remove_department(self, dept_id: int) -> None:
        """Remove an empty leaf department (the OA refuses to remove one with people or children)."""
        if self.children(dept_id) or self.members(dept_id):
            raise ValueError(f"department {dept_id} still has sub-departments or members")
        self._children[self.departments[dept_id].parent_id].remove(dept_id)
        del self.departments[dept_id]
        self._changed("dept_remove", dept_id)

    def set_person(self, userid: str, **fields: Any) -> None:
        """Overwrite fields of a person as they stand in the OA (bad data included)."""
        person = self.people[userid]
        for key, value in fields.items():
            if not hasattr(person, key):
                raise KeyError(f"a person has no field {key!r}")
            setattr(person, key, value)
        self._people_changed()
        self._changed("user_modify", userid)

    def add_root(self, name: str) -> int:
        """A second top-level department: the kind of tree damage the health check must catch."""
        dept_id = self._next_dept
        self._next_dept += 1
        self.departments[dept_id] = Department(dept_id, name, None, 99)
        self._children[None].append(dept_id)
        self._changed("dept_create", dept_id)
        return dept_id

    def set_parent(self, dept_id: int, parent_id: int) -> None:
        """Move a department under any parent, unchecked: one that does not exist (an orphan) or one of
        its own descendants (a cycle) is the tree damage the merge must quarantine."""
        department = self.departments[dept_id]
        self._children[department.parent_id].remove(dept_id)
        department.parent_id = parent_id
        self._children.setdefault(parent_id, []).append(dept_id)
        self._changed("dept_modify", dept_id)

    def apply(self, op: str, args: dict[str, Any]) -> Any:
        """Run one mutation by name (the sandboxes' ``POST /_sandbox/mutate``)."""
        ops = {
            "hire": self.hire,
            "leave": self.leave,
            "transfer": self.transfer,
            "rename_person": self.rename_person,
            "rename_department": self.rename_department,
            "new_department": self.new_department,
            "remove_department": self.remove_department,
            "set_person": self.set_person,
            "add_root": self.add_root,
            "set_parent": self.set_parent,
            "churn": self.churn,
        }
        if op not in ops:
            raise ValueError(f"unknown mutation {op!r}; known: {', '.join(sorted(ops))}")
        return ops[op](**args)

    def churn(self, fraction: float, seed: int = 7) -> dict[str, int]:
        """Change about ``fraction`` of the people: hires, leavers, transfers and renames in equal parts."""
        rng = random.Random(seed)
        n = max(4, int(len(self.people) * fraction))
        depts = [d for d in self.departments if d != ROOT_ID]
        userids = sorted(self.people)
        rng.shuffle(userids)
        counts = {"hired": 0, "left": 0, "transferred": 0, "renamed": 0}
        for i in range(n):
            kind = i % 4
            if kind == 0:
                self.hire(rng.choice(depts))
                counts["hired"] += 1
            elif userids:
                userid = userids.pop()
                if kind == 1:
                    self.leave(userid)
                    counts["left"] += 1
                elif kind == 2:
                    self.transfer(userid, rng.choice(depts))
                    counts["transferred"] += 1
                else:
                    self.rename_person(userid, self.people[userid].name + "某")
                    counts["renamed"] += 1
        return counts
