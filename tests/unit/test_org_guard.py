"""org/guard.py pure part: the mass-deactivation question names the people and departments held."""

from __future__ import annotations

from expense_sync.org import APPROVE, DEFER, KEEP
from expense_sync.org.guard import _question


def held(people: int, units: int) -> dict:
    return {
        "item_id": 9,
        "source_system": "dingtalk",
        "reason": f"mass deactivation held: {people} of 60 people, {units} of 12 departments",
        "record": {
            "employee": {"keys": [f"E{n:04d}" for n in range(1, people + 1)], "leaving": people},
            "org_unit": {"keys": [f"D{n:02d}" for n in range(1, units + 1)], "leaving": units},
        },
    }


def test_a_small_hold_lists_everyone_and_the_three_answers():
    asked = _question(held(3, 1))
    assert asked["subject"] == "org sync: mass deactivation held"
    body = asked["body"].splitlines()
    assert body[0] == "**Conflict #9** — dingtalk: mass deactivation held: 3 of 60 people, 1 of 12 departments"
    assert "People (工号): E0001, E0002, E0003" in body and "Departments: D01" in body
    assert [line.split("**")[1] for line in body if line.startswith("- **")] == [APPROVE, KEEP, DEFER]


def test_a_large_hold_shows_twenty_of_each_and_says_there_are_more():
    body = _question(held(35, 21))["body"].splitlines()
    people = next(line for line in body if line.startswith("People"))
    assert people.endswith("E0019, E0020 …") and "E0021" not in people
    units = next(line for line in body if line.startswith("Departments"))
    assert units.endswith("D20 …") and "D21" not in units


def test_twenty_show_no_ellipsis_and_twenty_one_do():
    body = _question(held(20, 20))["body"]
    assert "E0020" in body and "D20" in body and "…" not in body
    assert _question(held(21, 21))["body"].count(" …") == 2
