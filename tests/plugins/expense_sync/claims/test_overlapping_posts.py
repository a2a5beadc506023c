"""Two posting runs at once (a manual trigger beside a scheduled run, a zombie task beside its retry):
the second waits on the voucher's lock while the first is inside its ERP call, then finds the voucher
done. Without the lock, the second found the intent 'sending', looked it up, found nothing yet and
sent a second voucher."""

import time

import pytest

from claimkit import erp_vouchers, file_claim, finish, prepare_world, start_child
from expense_sync.boundaries import BEFORE_CALL


@pytest.fixture(params=["kingdee", "sap"])
def erp(request, dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, request.param)
    return request.param


def waiting_on_a_lock(mdm) -> bool:
    return bool(mdm.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0])


def test_a_second_run_waits_for_the_first_and_sends_nothing_twice(erp, mdm, sandboxes, tmp_path):
    codes = [file_claim(sandboxes, mdm, amounts=(f"{100 + n}.00",))["form"]["code"] for n in range(3)]
    first = start_child(erp, "post", BEFORE_CALL, pause_dir=tmp_path)
    deadline = time.monotonic() + 180
    while not (tmp_path / "reached").exists():  # the first run committed an intent and is about to call the ERP
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()[1][-3000:]
        time.sleep(0.1)

    second = start_child(erp, "post")
    while second.poll() is None and not waiting_on_a_lock(mdm):  # it waits (or, unguarded, it posts)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    (tmp_path / "go").touch()
    finish(first)
    finish(second)

    assert [len(erp_vouchers(sandboxes, erp, code)) for code in codes] == [1, 1, 1]
    states = mdm.execute("SELECT state FROM fin.voucher WHERE kind = 'claim' ORDER BY external_ref").fetchall()
    assert len(states) == 3 and all(s[0] not in ("sending", "error") for s in states)
