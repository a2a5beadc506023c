"""The claim intake against the 合思 sandbox over HTTP and a real PostgreSQL: a malformed document is
queued and its inbox event fails alone (the rest of the batch is committed), an event that keeps
failing ends ``failed``, and an outage of 合思 counts no attempt."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from expense_sync.claims.intake import collect
from expense_sync.claims.validate import claims_to_check
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import TransientVendorError
from expense_sync.store import inbox
from expense_sync.store.inbox import InboundEvent

COMPANY = "1000"
# shape -> (corrupt_claim arguments, the field the queue item names)
MALFORMED = {
    "expenseMoney_missing": ({"path": "form.expenseMoney", "remove": True}, "expenseMoney"),
    "expenseDate_out_of_range": ({"path": "form.expenseDate", "value": 1e22}, "expenseDate"),
    "total_1e20": ({"path": "form.expenseMoney.standard", "value": "1e20"}, "expenseMoney"),
    "details_not_a_list": ({"path": "form.details", "value": {"feeTypeId": "ID_FEE"}}, "details"),
    "feeTypeForm_a_string": ({"path": "form.details.0.feeTypeForm", "value": "amount=100.10"}, "feeTypeForm"),
}


@pytest.fixture
def ekb(sandboxes):
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    dimension = hook.dimension("成本中心")["id"]
    hook.create_dimension_items(dimension, [{"name": "销售部", "code": "CC01", "parentId": ""}])
    return sandboxes.control("ekuaibao")


def seed(ekb, mdm, amount: str = "100.10") -> str:
    """An approved claim in 合思 and its webhook event in the inbox; returns the claim number."""
    lines = [{"fee_type_code": "FYXM0001", "amount": amount, "cost_center": "CC01"}]
    flow = ekb.mutate("seed_claim", staff_code="E1001", lines=lines, state="paying")
    payload = {"flowId": flow["id"], "action": "backlog.paying", "code": flow["form"]["code"]}
    inbox.insert(
        mdm,
        InboundEvent(
            source="ekuaibao",
            dedup_key=f"{flow['id']}|backlog.paying",
            event_type="backlog.paying",
            subject=flow["id"],
            payload_json=json.dumps(payload),
        ),
    )
    return flow["form"]["code"]


def run(mdm, *, poll: bool = False, max_attempts: int = 3) -> dict:
    """One intake; returns its non-zero counts."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    counts = collect(
        mdm, EkuaibaoHook(), company=COMPANY, run_key="test", poll=poll, since=since, max_attempts=max_attempts
    )
    return {key: n for key, n in counts.items() if n}


def events(mdm) -> dict[str, tuple]:
    rows = mdm.execute(
        "SELECT payload ->> 'code', status, attempts, last_error FROM sync.event_inbox ORDER BY event_id"
    ).fetchall()
    return {code: (status, attempts, error) for code, status, attempts, error in rows}


def items(mdm) -> list[tuple]:
    return mdm.execute(
        """SELECT record_key, kind, reason_code, status, reason FROM sync.exception_item
            WHERE entity = 'claim' ORDER BY item_id"""
    ).fetchall()


def claims(mdm) -> dict[str, str]:
    return dict(mdm.execute("SELECT claim_no, state FROM fin.claim").fetchall())


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_a_malformed_document_is_queued_and_the_rest_of_its_batch_is_committed(mdm, ekb, shape):
    corruption, field = MALFORMED[shape]
    first, bad, last = seed(ekb, mdm), seed(ekb, mdm, "20.00"), seed(ekb, mdm, "35.50")
    ekb.mutate("corrupt_claim", code=bad, **corruption)

    counts = run(mdm)

    assert claims(mdm) == {first: "received", last: "received"}
    status, attempts, error = events(mdm)[bad]
    assert (status, attempts) == ("new", 1) and field in error
    assert {code: e[:2] for code, e in events(mdm).items() if code != bad} == {
        first: ("processed", 1),
        last: ("processed", 1),
    }
    [(key, kind, reason_code, state, reason)] = items(mdm)
    assert (key, kind, reason_code, state) == (bad, "quarantine", "document_malformed", "open")
    assert field in reason
    assert counts == {"events": 2, "new": 2, "events_failed": 1, "malformed": 1}

    run(mdm, poll=True)  # the inbox again and the catch-up poll: nothing doubles
    assert claims(mdm) == {first: "received", last: "received"}
    assert [item[:4] for item in items(mdm)] == [(bad, "quarantine", "document_malformed", "open")]
    assert mdm.execute("SELECT count(*) FROM sync.exception_event").fetchone()[0] == 1
    assert events(mdm)[bad][:2] == ("new", 2)


def test_an_event_failing_again_and_again_ends_failed_and_an_outage_counts_nothing(mdm, ekb, sandboxes):
    good, bad = seed(ekb, mdm), seed(ekb, mdm, "20.00")
    ekb.mutate("corrupt_claim", code=bad, path="form.expenseDate", remove=True)  # never today's date instead

    ekb.faults({"kind": "5xx", "every": 1, "paths": ["/api/openapi/v1.1/flowDetails"]})
    with pytest.raises(TransientVendorError):
        run(mdm)
    assert events(mdm) == {good: ("new", 0, None), bad: ("new", 0, None)}, "合思 down: not the events' fault"
    ekb.faults()

    assert run(mdm) == {"events": 1, "new": 1, "events_failed": 1, "malformed": 1}
    assert run(mdm) == {"events_failed": 1, "malformed": 1}
    assert run(mdm) == {"events_given_up": 1, "malformed": 1}
    status, attempts, error = events(mdm)[bad]
    assert (status, attempts) == ("failed", 3) and error.startswith(f"{bad}: expenseDate: None is not a time")
    assert run(mdm) == {}  # a failed event is not claimed again
    assert claims(mdm) == {good: "received"}
    assert [item[:4] for item in items(mdm)] == [(bad, "quarantine", "document_malformed", "open")]

    # a held claim whose document turns malformed is not validated on its old content
    ekb.mutate("corrupt_claim", code=good, path="form.expenseMoney.standard", value="一百元")
    run(mdm, poll=True)
    assert claims(mdm) == {good: "invalid"}
    assert claims_to_check(mdm) == []

    # both documents read again: their items are resolved, the claims are taken
    day = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    ekb.mutate("corrupt_claim", code=bad, path="form.expenseDate", value=day)
    ekb.mutate("corrupt_claim", code=good, path="form.expenseMoney.standard", value="100.10")
    run(mdm, poll=True)
    assert claims(mdm) == {good: "invalid", bad: "received"}
    assert [item[3] for item in items(mdm)] == ["resolved", "resolved"]
    assert len(claims_to_check(mdm)) == 2


@pytest.mark.parametrize("garbage", ["not-a-time", 1e22, "1e20", -5])
def test_a_garbage_update_time_is_queued_and_the_catch_up_poll_carries_on(mdm, ekb, garbage):
    first, bad, last = seed(ekb, mdm), seed(ekb, mdm, "20.00"), seed(ekb, mdm, "35.50")
    ekb.mutate("corrupt_claim", code=bad, path="updateTime", value=garbage)

    run(mdm, poll=True)  # the inbox, then the catch-up poll reading the garbage in the document list
    assert claims(mdm) == {first: "received", last: "received"}
    [(key, kind, reason_code, state, reason)] = items(mdm)
    assert (key, kind, reason_code, state) == (bad, "quarantine", "document_malformed", "open")
    assert "updateTime" in reason
    assert events(mdm)[bad][:2] == ("new", 1)
    mark = mdm.execute("SELECT value FROM sync.watermark WHERE system = 'ekuaibao' AND stream = 'claims'").fetchone()
    assert mark is not None and mark[0].year == dt.datetime.now(dt.UTC).year  # the garbage moved no watermark

    run(mdm, poll=True)  # again: nothing doubles, the same item
    assert claims(mdm) == {first: "received", last: "received"}
    assert [item[:4] for item in items(mdm)] == [(bad, "quarantine", "document_malformed", "open")]

    ekb.mutate("edit_claim_amount", code=bad, line=1, amount="20.00")  # 合思 serves a real update time again
    run(mdm, poll=True)
    assert claims(mdm) == {first: "received", bad: "received", last: "received"}
    assert [item[3] for item in items(mdm)] == ["resolved"]


# vendor schema drift -> (corrupt_claim steps, the field the queue item names, or None: read faithfully)
DRIFT = {
    "a field added": ([{"path": "form.u_carbonFootprint", "value": {"kg": "12.5"}}], None),
    "a line field added": ([{"path": "form.details.0.feeTypeForm.u_channel", "value": "全电发票"}], None),
    "the total retyped to a number": ([{"path": "form.expenseMoney.standard", "value": 20.0}], None),
    "the code renamed": ([{"path": "form.formCode", "value": "?"}, {"path": "form.code", "remove": True}], "code"),
    "expenseDate renamed": (
        [{"path": "form.expenseDay", "value": 0}, {"path": "form.expenseDate", "remove": True}],
        "expenseDate",
    ),
    "expenseDate retyped to ISO text": ([{"path": "form.expenseDate", "value": "2026-11-20"}], "expenseDate"),
}


@pytest.mark.parametrize("case", list(DRIFT))
def test_schema_drift_is_read_faithfully_or_queued_never_blanked(mdm, ekb, case):
    steps, field = DRIFT[case]
    good, drifted = seed(ekb, mdm), seed(ekb, mdm, "20.00")
    flow_id = mdm.execute("SELECT subject FROM sync.event_inbox WHERE payload ->> 'code' = %s", (drifted,)).fetchone()[
        0
    ]
    for step in steps:
        ekb.mutate("corrupt_claim", code=drifted, **step)

    run(mdm, poll=True)

    held = mdm.execute(
        "SELECT flow_id, claim_no, total_amount, claim_date IS NOT NULL FROM fin.claim ORDER BY claim_id"
    ).fetchall()
    if field is None:  # read as it was: the same number, total and date
        assert [row[1:] for row in held] == [(good, Decimal("100.10"), True), (drifted, Decimal("20.00"), True)]
        assert items(mdm) == []
    else:  # queued with the field named, and nothing stored under another key
        assert [row[1] for row in held] == [good]
        [(key, kind, reason_code, state, reason)] = items(mdm)
        assert key in (drifted, flow_id) and (kind, reason_code, state) == ("quarantine", "document_malformed", "open")
        assert f": {field}: " in reason
