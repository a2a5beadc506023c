"""The approval matrix against a real PostgreSQL: derived from the ERP's cost-center holders, versioned
only when its content changes, the changed approvers listed; and the resolver's nodes and refusals
(chain missing, approver inactive or unknown, self-approval), each with the queue's reason code."""

from decimal import Decimal

import pytest
from matrixkit import holders, seed_cost_centers, seed_org

from expense_sync.matrix.derive import changed_approvers, derive_matrix, record_holders
from expense_sync.matrix.resolve import ChainError, nodes_for
from expense_sync.store.queue import REASONS

PEOPLE = {"E1": "E2", "E2": "E9", "E3": "E9", "E4": "E9", "E5": "E9", "E9": None}


@pytest.fixture
def org(mdm):
    seed_org(mdm, PEOPLE)
    seed_cost_centers(mdm, "CC1", "CC2")
    return mdm


def nodes(conn, amount, submitter="E1", cost_center="CC1", **kw):
    return nodes_for(
        conn,
        company=kw.pop("company", "C100"),
        cost_center=cost_center,
        category=kw.pop("category", None),
        amount=Decimal(amount),
        submitter_employee_no=submitter,
        **kw,
    )


def refused(conn, amount, **kw) -> str:
    with pytest.raises(ChainError) as caught:
        nodes(conn, amount, **kw)
    assert caught.value.reason_code in REASONS  # the queue knows it
    return caught.value.reason_code


def test_the_chain_follows_the_bands_and_the_holders(org):
    record_holders(org, holders(("CC1", "E4", "E3"), ("CC2", "E4", "E5")), "kingdee")
    derived = derive_matrix(org, "test/1")
    assert (derived["version"], derived["created"], derived["cost_centers"], derived["vacant"]) == (1, True, 2, 0)
    assert nodes(org, "5000") == [("主管", ("E2",)), ("财务", ("E3",))]
    assert nodes(org, "5000.01") == [("主管", ("E2",)), ("财务", ("E3",)), ("总监", ("E4",))]
    assert nodes(org, "100", over_budget=True) == [("主管", ("E2",)), ("财务", ("E3",)), ("总监", ("E4",))]
    # the shipped override: entertainment is approved by the director from the first yuan
    assert nodes(org, "1", category="ENTERTAINMENT")[-1] == ("总监", ("E4",))


def test_a_version_only_when_the_content_changes_and_the_changed_approvers(org):
    record_holders(org, holders(("CC1", "E4", "E3"), ("CC2", "E4", "E5")), "kingdee")
    assert derive_matrix(org, "test/1")["version"] == 1
    record_holders(org, holders(("CC1", "E4", "E3"), ("CC2", "E4", "E5")), "kingdee")
    again = derive_matrix(org, "test/2")
    assert (again["version"], again["created"], again["changed"]) == (1, False, [])
    record_holders(org, holders(("CC1", "E9", "E3"), ("CC2", "E4", "E3")), "kingdee")  # new owner, new controller
    second = derive_matrix(org, "test/3")
    assert (second["version"], second["created"]) == (2, True)
    assert changed_approvers(org, 1, 2) == [("CC1", "总监", "E4", "E9"), ("CC2", "财务", "E5", "E3")]
    assert second["changed"] == [["CC1", "总监", "E4", "E9"], ["CC2", "财务", "E5", "E3"]]
    kept = org.execute("SELECT version, count(*) FROM mdm.approval_matrix GROUP BY version ORDER BY 1").fetchall()
    assert kept == [(1, 16), (2, 16)]  # the auditors keep every version (8 steps per cost center)
    recorded = org.execute(
        "SELECT old_version, cost_center, role, old_approver, new_approver FROM mdm.approval_matrix_change"
    )
    assert recorded.fetchall() == [(1, "CC1", "总监", "E4", "E9"), (1, "CC2", "财务", "E5", "E3")]
    assert nodes(org, "9000")[-1] == ("总监", ("E9",))  # the version in force
    record_holders(org, holders(("CC1", "E4", "E3"), ("CC2", "E4", "E5")), "kingdee")  # back as in version 1
    third = derive_matrix(org, "test/4")
    assert (third["version"], third["created"]) == (3, True), "the same content as an old version is a new one"
    assert nodes(org, "9000")[-1] == ("总监", ("E4",))


def test_a_cost_center_without_holders_has_an_incomplete_chain(org):
    record_holders(org, holders(("CC1", "E4", "E3")), "kingdee")  # the ERP names nobody for CC2
    derived = derive_matrix(org, "test/1")
    assert derived["vacant"] == 3 + 2  # 财务 in both bands and 总监 above 5 000; entertainment's 财务 and 总监
    assert refused(org, "100", cost_center="CC2") == "approval_chain_missing"
    assert refused(org, "100", cost_center="CC9") == "approval_chain_missing"  # no such cost center


def test_no_matrix_yet_is_a_missing_chain(org):
    assert refused(org, "100") == "approval_chain_missing"


def test_inactive_and_unknown_approvers_are_refused(mdm):
    seed_org(mdm, {"E1": "E2", "E2": None, "E3": None}, inactive=("E3",))
    seed_cost_centers(mdm, "CC1", "CC2")
    record_holders(mdm, holders(("CC1", "E2", "E3"), ("CC2", "E2", "X404")), "kingdee")
    derive_matrix(mdm, "test/1")
    assert refused(mdm, "100") == "approver_inactive"
    assert refused(mdm, "100", cost_center="CC2") == "approver_unknown"
    assert refused(mdm, "100", submitter="X999") == "approver_unknown"


def test_nobody_approves_their_own_document(org):
    record_holders(org, holders(("CC1", "E4", "E3")), "kingdee")
    derive_matrix(org, "test/1")
    # E3 is CC1's budget controller: their own claim's 财务 node goes to their manager E9
    assert nodes(org, "100", submitter="E3") == [("主管", ("E9",)), ("财务", ("E9",))]
    # E9 has no manager: their own 主管 node has nobody (a missing chain) …
    assert refused(org, "100", submitter="E9") == "approval_chain_missing"


def test_a_role_holder_without_a_manager_is_self_approval(mdm):
    seed_org(mdm, {"E1": "E2", "E2": None, "E3": "E2"})
    seed_cost_centers(mdm, "CC1")
    record_holders(mdm, holders(("CC1", "E2", "E1")), "kingdee")
    derive_matrix(mdm, "test/1")
    assert nodes(mdm, "9000", submitter="E1") == [("主管", ("E2",)), ("财务", ("E2",)), ("总监", ("E2",))]
    with pytest.raises(ChainError) as caught:  # E2 owns CC1, and nobody is above them
        nodes(mdm, "9000", submitter="E2")
    assert caught.value.reason_code in {"approval_chain_missing", "self_approval"}


def test_self_approval_when_the_submitter_holds_a_role_and_has_no_manager(mdm):
    seed_org(mdm, {"E1": "E2", "E2": None})
    seed_cost_centers(mdm, "CC1")
    mdm.execute("UPDATE mdm.employee SET manager_employee_no = 'E2' WHERE employee_no = 'E2'")  # a loop in the OA
    record_holders(mdm, holders(("CC1", "E1", "E2")), "kingdee")
    derive_matrix(mdm, "test/1")
    assert refused(mdm, "100", submitter="E2") == "self_approval"


def test_an_inactive_cost_center_gets_no_chain(mdm):
    seed_org(mdm, PEOPLE)
    seed_cost_centers(mdm, "CC1", "CC3", inactive=("CC3",))
    record_holders(mdm, holders(("CC1", "E4", "E3"), ("CC3", "E4", "E3")), "kingdee")
    assert derive_matrix(mdm, "test/1")["cost_centers"] == 1
    assert refused(mdm, "100", cost_center="CC3") == "approval_chain_missing"
