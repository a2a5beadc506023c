"""The org push to 合思 stopped from outside and run again: SIGKILLed once 合思 has received its first
write, two pushes at once, its PostgreSQL backends terminated mid-push, and the day's merge terminated
mid-transaction. Each ends with every department and person held once by 合思, with the canonical
values (the focused cases of tests/reliability/test_writers.py)."""

import os

from expense_sync.store import queue
from writerkit import (
    finish,
    judge_org,
    kill_at_write,
    merge_day_terminated,
    org_world,
    run_writer,
    start_child,
    terminate_at_write,
)


def assert_held_once(mdm, sandboxes) -> None:
    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"], verdict["refused"]) == (0, 0, 0), verdict
    assert verdict["tried"] == 11 + 60  # the departments under the root, and the people


def test_killed_at_the_first_write_the_retry_pushes_each_record_once(mdm, sandboxes):
    org_world(mdm)
    assert kill_at_write("org", {}, "kill/1", sandboxes, os.environ["AIRFLOW_CONN_MDM_POSTGRES"], 1)
    run_writer("org", {}, "retry")
    assert_held_once(mdm, sandboxes)


def test_two_pushes_at_once_push_each_record_once(mdm, sandboxes):
    org_world(mdm)
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    children = [start_child("org", {}, f"overlap/{i}", sandboxes, url, qps=16) for i in range(2)]
    ended = [finish(child) for child in children]
    assert [code for code, _ in ended] == [0, 0], ended
    assert_held_once(mdm, sandboxes)


def test_backend_terminated_mid_push_the_retry_pushes_each_record_once(mdm, sandboxes):
    org_world(mdm)
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    assert terminate_at_write("org", {}, "terminated", sandboxes, mdm, url, 1) >= 1
    run_writer("org", {}, "retry")
    assert_held_once(mdm, sandboxes)


def test_backend_terminated_mid_merge_the_retry_ends_as_a_clean_merge(pg_server, mdm_template, mdm, sandboxes):
    args, differing, stopped_in = merge_day_terminated("org", pg_server, mdm_template, mdm, sandboxes)
    assert "employee" in stopped_in  # stopped writing people, after the departments of the same transaction
    assert differing == set()
    run_writer("org", args, "push")
    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), verdict


def test_the_judge_sees_a_lost_and_a_duplicated_record(mdm, sandboxes):
    org_world(mdm)
    run_writer("org", {}, "clean")
    assert_held_once(mdm, sandboxes)
    sandboxes.control("ekuaibao").mutate("edit_staff", code="E0000003", name="别人")  # 合思 now holds a wrong value
    with mdm.transaction():  # and 合思 refused a second create of a code it held
        queue.open_item(
            mdm,
            kind="conflict",
            system="ekuaibao",
            entity="employee",
            record_key="E0000004",
            reason_code="push_refused",
            detail="员工工号[E0000004]已存在",
            run_key="test",
        )
    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"], verdict["refused"]) == (1, 1, 1), verdict
