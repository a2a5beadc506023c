"""The chart push of cost centers and projects to 合思 stopped from outside and run again: SIGKILLed once
合思 has received its first write, two pushes at once, its PostgreSQL backend terminated mid-push, and
the week's merge terminated mid-transaction. Each ends with every item held once by 合思, with the
canonical values (the focused cases of tests/reliability/test_writers.py).

(Named apart from org/test_push_faults.py: the test folders are not packages, and two test modules
with one basename cannot be collected in one session.)"""

import os

from chartkit import DIMENSIONS
from expense_sync.store import queue
from writerkit import (
    chart_world,
    finish,
    judge_chart,
    kill_at_write,
    merge_day_terminated,
    run_writer,
    start_child,
    terminate_at_write,
)


def assert_held_once(mdm, sandboxes) -> None:
    verdict = judge_chart(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"], verdict["refused"]) == (0, 0, 0), verdict
    assert verdict["tried"] > 10


def test_killed_at_the_first_write_the_retry_pushes_each_item_once(mdm, sandboxes):
    args = chart_world(mdm)
    assert kill_at_write("chart", args, "kill/1", sandboxes, os.environ["AIRFLOW_CONN_MDM_POSTGRES"], 1)
    run_writer("chart", args, "retry")
    assert_held_once(mdm, sandboxes)


def test_two_pushes_at_once_push_each_item_once(mdm, sandboxes):
    args = chart_world(mdm)
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    children = [start_child("chart", args, f"overlap/{i}", sandboxes, url, qps=16) for i in range(2)]
    ended = [finish(child) for child in children]
    assert [code for code, _ in ended] == [0, 0], ended
    assert_held_once(mdm, sandboxes)


def test_backend_terminated_mid_push_the_retry_pushes_each_item_once(mdm, sandboxes):
    args = chart_world(mdm)
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    assert terminate_at_write("chart", args, "terminated", sandboxes, mdm, url, 1) >= 1
    run_writer("chart", args, "retry")
    assert_held_once(mdm, sandboxes)


def test_backend_terminated_mid_merge_the_retry_ends_as_a_clean_merge(pg_server, mdm_template, mdm, sandboxes):
    args, differing, stopped_in = merge_day_terminated("chart", pg_server, mdm_template, mdm, sandboxes)
    assert "cost_center" in stopped_in  # stopped writing cost centers, after the accounts of the same transaction
    assert differing == set()
    run_writer("chart", args, "push")
    verdict = judge_chart(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), verdict


def test_the_judge_sees_a_lost_and_a_duplicated_item(mdm, sandboxes):
    args = chart_world(mdm)
    run_writer("chart", args, "clean")
    assert_held_once(mdm, sandboxes)
    first, second = [r[0] for r in mdm.execute("SELECT code FROM mdm.cost_center WHERE active ORDER BY code LIMIT 2")]
    sandboxes.control("ekuaibao").mutate("edit_item", dimension=DIMENSIONS["cost_center"], code=first, active=False)
    with mdm.transaction():  # 合思 refused a second create of a code it held
        queue.open_item(
            mdm,
            kind="conflict",
            system="ekuaibao",
            entity="cost_center",
            record_key=second,
            reason_code="push_refused",
            detail=f"该档案项编码[{second}]导入重复",
            run_key="test",
        )
    verdict = judge_chart(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"], verdict["refused"]) == (1, 1, 1), verdict
