"""The exception review's questions and answers on a real middle platform: what each item offers,
and that an item holding a voucher back is released, never closed as "handled by hand"."""

from expense_sync.store import queue
from expense_sync.store.answers import DEFER
from expense_sync.store.review import BY_HAND, FIXED, RELEASE, apply_answers, questions

REASON = "account 6602.01 re-enabled in Kingdee, ticket FIN-207"


def answer(option: str, reason: str = REASON) -> dict:
    return {
        "chosen_options": [option],
        "responded_by_user": {"id": "finance", "name": "finance"},
        "responded_at": "2026-12-04T08:00:00+00:00",
        "params_input": {"reason": reason},
    }


def test_held_items_are_released_and_the_others_closed_with_who_and_why(mdm):
    refused = queue.open_item(
        mdm, kind="quarantine", system="kingdee", entity="claim", record_key="BX2026110001",
        reason_code="voucher_refused", detail="科目 6602.01 已禁用", run_key="claim_events/r1",
    )  # fmt: skip
    email = queue.open_item(
        mdm, kind="quarantine", system="dingtalk", entity="employee", record_key="E0000001",
        reason_code="malformed_email", record={"email": "not-an-email"}, run_key="org_sync_daily/r1",
    )  # fmt: skip
    held = queue.open_item(
        mdm, kind="conflict", system="dingtalk", entity="org", record_key="org",
        reason_code="mass_deactivation", run_key="org_sync_daily/r1",
    )  # fmt: skip

    asked = questions(mdm)
    assert asked["items"] == [refused, email]  # the org guard asks about its own holds
    by_item = dict(zip(asked["items"], asked["questions"], strict=True))
    assert by_item[refused]["options"] == [RELEASE, DEFER] and "科目 6602.01 已禁用" in by_item[refused]["body"]
    assert by_item[email]["options"] == [FIXED, BY_HAND, DEFER] and "not-an-email" in by_item[email]["body"]
    assert (by_item[refused]["kind"], by_item[email]["kind"]) == ("claims", "org")

    counts = apply_answers(mdm, "exception_review/r1", [refused, email], [answer(BY_HAND), answer(BY_HAND)])
    assert counts == {"not_offered": 1, "handled_by_hand": 1}  # a held voucher is not closed "by hand"
    counts = apply_answers(mdm, "exception_review/r2", [refused], [answer(RELEASE, reason="x")])
    assert counts == {"without_reason": 1}  # one character is no reason
    counts = apply_answers(mdm, "exception_review/r3", [refused], [answer(RELEASE)])
    assert counts == {"released": 1}

    rows = mdm.execute(
        "SELECT item_id, status, decision, decided_by FROM sync.exception_item ORDER BY item_id"
    ).fetchall()
    assert rows == [
        (refused, "resolved", "released", "finance"),
        (email, "resolved", "handled_by_hand", "finance"),
        (held, "open", None, None),
    ]
    history = mdm.execute(
        "SELECT action, detail->>'note', detail->>'why' FROM sync.exception_event"
        " WHERE item_id = %s AND actor = 'finance' ORDER BY event_id",
        (refused,),
    ).fetchall()
    assert history == [("answer_ignored", None, "not offered"), ("answer_without_reason", None, None),
                       ("decided", REASON, None)]  # fmt: skip
    assert questions(mdm)["items"] == []
