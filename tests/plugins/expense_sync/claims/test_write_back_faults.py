"""The voucher-number write-back to 合思 stopped from outside and run again: SIGKILLed once 合思 has
received its first write-back, two write-backs at once, its PostgreSQL backend terminated mid-way,
and a 合思 fault storm (5xx, throttling, token expiry, an answer lost after the commit). Each ends with
every claim's number on its 合思 document, no other number ever written there, and the claim closed
(the focused cases of tests/reliability/test_writers.py)."""

import os

import pytest

from writerkit import (
    finish,
    judge_write_back,
    kill_at_write,
    retry_until_ok,
    run_writer,
    start_child,
    storm,
    terminate_at_write,
    write_back_world,
)


@pytest.fixture
def world(dagbag, mdm, sandboxes, monkeypatch):
    return write_back_world(dagbag, mdm, sandboxes, monkeypatch, claims=3)


def assert_written_back(mdm, sandboxes, world) -> dict:
    verdict = judge_write_back(mdm, sandboxes, world["codes"])
    assert (verdict["lost"], verdict["duplicated"], verdict["refused"]) == (0, 0, 0), verdict
    assert verdict["accepted"] == 3
    return verdict


def test_killed_at_the_first_write_back_the_retry_closes_each_claim(mdm, sandboxes, world):
    assert kill_at_write("write_back", {}, "kill/1", sandboxes, os.environ["AIRFLOW_CONN_MDM_POSTGRES"], 1)
    run_writer("write_back", world, "retry")
    assert_written_back(mdm, sandboxes, world)


def test_two_write_backs_at_once_write_each_number_once(mdm, sandboxes, world):
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    children = [start_child("write_back", {}, f"overlap/{i}", sandboxes, url, qps=16) for i in range(2)]
    ended = [finish(child) for child in children]
    assert [code for code, _ in ended] == [0, 0], ended
    assert assert_written_back(mdm, sandboxes, world)["resent"] == 0  # the second waits, then skips each claim


def test_backend_terminated_mid_write_back_the_retry_closes_each_claim(mdm, sandboxes, world):
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    assert terminate_at_write("write_back", {}, "terminated", sandboxes, mdm, url, 1) >= 1
    run_writer("write_back", world, "retry")
    assert_written_back(mdm, sandboxes, world)


def test_a_fault_storm_during_the_write_back(mdm, sandboxes, world):
    control = sandboxes.control("ekuaibao")
    control.faults(*storm("write_back"), seed=5)
    try:
        retry_until_ok("write_back", world, tries=6, label="storm")
        fired = control.stats()["faults_fired"]
    finally:
        control.faults()
    assert fired.get("slow_commit") and fired.get("5xx"), fired
    assert_written_back(mdm, sandboxes, world)
