"""store/answers.py: who answered a HITL question and what, or the timeout."""

from __future__ import annotations

from expense_sync.store.answers import DEFER, TIMEOUT_ACTOR, read

AT = "2026-01-19T08:02:11+00:00"


def test_who_answered_what_and_when():
    answer = read({"chosen_options": ["Keep them active"], "responded_by_user": {"id": "7", "name": "王会计"},
                   "responded_at": AT}, "org_sync_daily/r1")  # fmt: skip
    assert (answer.option, answer.actor) == ("Keep them active", "王会计")
    assert answer.facts == {"user_id": "7", "responded_at": AT, "timed_out": False}
    assert answer.detail == {"option": "Keep them active", "run_key": "org_sync_daily/r1", **answer.facts}


def test_a_user_without_a_name_is_named_by_id():
    assert read({"responded_by_user": {"id": "7", "name": ""}, "responded_at": AT}, "r").actor == "7"


def test_no_answer_is_a_defer_by_the_timeout():
    answer = read(None, "r")
    assert (answer.option, answer.actor) == (DEFER, TIMEOUT_ACTOR)
    assert answer.facts == {"user_id": None, "responded_at": None, "timed_out": True}
    assert read({"chosen_options": [], "responded_by_user": None}, "r").option == DEFER


def test_the_reason_given_in_the_form_is_read_trimmed():
    answer = read({"chosen_options": ["Deactivate them"], "responded_by_user": {"id": "7", "name": "王会计"},
                   "params_input": {"reason": "  离职名单已核对 HR-204 "}}, "r")  # fmt: skip
    assert answer.reason == "离职名单已核对 HR-204" and answer.detail["reason"] == answer.reason
    assert read({"chosen_options": ["Deactivate them"], "params_input": {}}, "r").reason == ""


def test_the_form_asks_for_a_reason_and_the_deciders_come_from_the_variable(monkeypatch):
    import pytest

    from expense_sync.store.answers import assignees, question_params

    schema = question_params()["reason"].schema
    assert "string" in schema["type"] and schema["minLength"] >= 2
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_DECIDERS", '{"chart": ["finance", "cfo"], "org": []}')
    assert assignees("chart") == [{"id": "finance", "name": "finance"}, {"id": "cfo", "name": "cfo"}]
    assert assignees("org") is None and assignees("claims") is None  # anyone who may edit the DAG
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_DECIDERS", '["finance"]')
    with pytest.raises(ValueError, match="expense_sync_deciders"):
        assignees("chart")
