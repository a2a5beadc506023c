"""The Kingdee hook on a **standard** K3Cloud (no ``F_`` extension field, the sandbox's default):
the voucher's business key travels in the entries' 摘要 (FEXPLANATION), so a Save whose answer was
lost is settled by a look-up without a duplicate; refs that are prefixes of each other or carry LIKE
wildcards never match one another; the month-end read gets each voucher with its ref; a cost-centre
form switched off or missing leaves the chart sync complete, the entity reported skipped."""

import datetime as dt
from decimal import Decimal

import pytest

from expense_sync.chart.extract import extract_chart
from expense_sync.chart.merge import merge_chart
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.erp.posting import post_voucher
from expense_sync.hooks.errors import (
    ConfigurationError,
    ContractError,
    EntityUnavailableError,
    OutcomeUnknownError,
    VendorRequestError,
)
from expense_sync.hooks.kingdee import KingdeeHook
from expense_sync.hooks.kingdee.vouchers import like_ref, ref_of, tagged

SAVE = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
PERIOD = "2025-03"


def expense(ref, amount="88.80", text="差旅费报销", period=PERIOD, day=15):
    year, month = map(int, period.split("-"))
    amount = Decimal(amount)
    return Voucher(
        external_ref=ref,
        company="001",
        posting_date=dt.date(year, month, day),
        period=period,
        description=f"报销单 {ref}",
        lines=(
            VoucherLine("6602.01", debit=amount, cost_center="BM000007", text=text),
            VoucherLine("2241.01", credit=amount, text="应付员工报销款"),
        ),
    )


def held(kingdee, ref):
    return [v for v in kingdee.state()["vouchers"] if v["F_ES_ExternalRef"] == ref]


# -- the ref in the 摘要 ----------------------------------------------------------------------------
def test_a_standard_k3cloud_refuses_a_query_on_an_extension_field(kingdee):
    hook = KingdeeHook()
    with pytest.raises(VendorRequestError, match="F_ES_ExternalRef"):
        list(hook.query("GL_VOUCHER", ["FVOUCHERID", "F_ES_ExternalRef"]))
    kingdee.reset(extension_fields=["F_ES_ExternalRef"])
    assert list(KingdeeHook().query("GL_VOUCHER", ["FVOUCHERID", "F_ES_ExternalRef"])) == []


def test_the_voucher_carries_its_ref_in_every_entrys_explanation_and_no_extension_field(kingdee):
    status = KingdeeHook().create_voucher(expense("BX-2025-0001"))
    assert status.external_ref == "BX-2025-0001"
    [voucher] = kingdee.state()["vouchers"]
    assert [e["FEXPLANATION"] for e in voucher["FEntity"]] == [
        "ES#BX-2025-0001# 差旅费报销",
        "ES#BX-2025-0001# 应付员工报销款",
    ]
    assert voucher["F_ES_ExternalRef"] == "BX-2025-0001"  # the control API reads it from the 摘要


def test_a_save_whose_answer_is_lost_is_settled_by_a_lookup_without_a_duplicate(mdm, kingdee):
    hook = KingdeeHook()
    hook.get_token()
    voucher = expense("BX-LOST-1", "1280.00")
    kingdee.faults({"kind": "slow_commit", "every": 1, "delay": 2.5, "paths": [SAVE]})
    try:
        first = post_voucher(mdm, hook, voucher, kind="rollup", run_key="t/1")
    except OutcomeUnknownError:
        first = None
    kingdee.faults()
    posted = first or post_voucher(mdm, KingdeeHook(), voucher, kind="rollup", run_key="t/2")

    assert len(held(kingdee, "BX-LOST-1")) == 1 and len(kingdee.state()["vouchers"]) == 1  # no duplicate
    assert not posted.sent and not posted.verified  # adopted by the look-up, not sent again
    assert kingdee.stats()["calls"][f"POST {SAVE}"] == 1
    found = hook.find_voucher("BX-LOST-1", PERIOD)
    assert found is not None and found.external_ref == "BX-LOST-1"
    remote = mdm.execute("SELECT remote_id FROM fin.voucher WHERE external_ref = 'BX-LOST-1'").fetchone()[0]
    assert remote == found.remote_id


def test_a_ref_that_is_a_prefix_of_another_or_holds_like_wildcards_finds_only_itself(kingdee):
    hook = KingdeeHook()
    ids = {ref: hook.create_voucher(expense(ref)).remote_id for ref in ("BX-1-R1", "BX-10", "BX_1", "BX-1")}
    for ref, remote_id in ids.items():
        found = hook.find_voucher(ref, PERIOD)
        assert (found.remote_id, found.external_ref) == (remote_id, ref)
    assert hook.find_voucher("BX-", PERIOD) is None and hook.find_voucher("BX%", PERIOD) is None
    assert hook.find_voucher("BX-1", "2025-04") is None  # another period


def test_a_long_text_is_cut_after_the_ref_and_a_ref_too_long_is_refused_before_sending(kingdee):
    hook = KingdeeHook()
    status = hook.create_voucher(expense("BX-LONG", text="差" * 400))
    [voucher] = kingdee.state()["vouchers"]
    explanation = voucher["FEntity"][0]["FEXPLANATION"]
    assert len(explanation) == 255 and explanation.startswith("ES#BX-LONG# 差")
    assert hook.find_voucher("BX-LONG", PERIOD).remote_id == status.remote_id
    with pytest.raises(ValueError, match="does not fit"):
        hook.create_voucher(expense("R" * 260))
    with pytest.raises(ValueError, match="cannot travel"):
        hook.create_voucher(expense("BX#7"))
    assert len(kingdee.state()["vouchers"]) == 1


def test_the_ref_markers_round_trip_and_the_like_pattern_only_widens():
    assert ref_of(tagged("RU-2025-03-001", "月末汇总", 255)) == "RU-2025-03-001"
    assert ref_of("手工凭证") is None and ref_of(None) is None
    assert like_ref("A_1%[x]") == "'ES#A_1__x_#%'"
    assert like_ref("O'Brien") == "'ES#O''Brien#%'"


def test_period_vouchers_return_each_voucher_with_its_ref_and_a_manual_one_without(kingdee):
    hook = KingdeeHook()
    for ref in ("BX-P1", "BX-P2"):
        hook.create_voucher(expense(ref))
    hook.create_voucher(expense("BX-OTHER", period="2025-04"))
    manual = kingdee.mutate(
        "manual_voucher",
        company="001",
        date="2025-03-20",
        lines=[{"account": "6602.01", "debit": "10.00"}, {"account": "2241.01", "credit": "10.00"}],
    )
    statuses = hook.period_vouchers("001", PERIOD)
    assert sorted((s.external_ref or "") for s in statuses) == ["", "BX-P1", "BX-P2"]
    assert {s.remote_id for s in statuses if s.external_ref is None} == {str(manual["id"])}


def test_a_row_without_its_voucher_id_is_a_contract_error_naming_the_field():
    with pytest.raises(ContractError, match="FVOUCHERID"):
        KingdeeHook()._status({"FDocumentStatus": "A", "FEXPLANATION": "ES#X#"})


# -- the chart entities -----------------------------------------------------------------------------
def test_a_switched_off_entity_is_unavailable_and_gl_account_cannot_be_switched_off(connect):
    connect(chart_forms={"cost_center": {"enabled": False}})
    with pytest.raises(EntityUnavailableError, match="switched off"):
        list(KingdeeHook().chart("cost_center"))
    connect(chart_forms={"gl_account": {"enabled": False}})
    with pytest.raises(ConfigurationError, match="gl_account"):
        list(KingdeeHook().chart("gl_account"))


def test_a_missing_form_is_unavailable_except_the_required_chart_of_accounts(kingdee):
    kingdee.reset(missing_forms=["BD_Department", "BD_Account"])
    hook = KingdeeHook()
    with pytest.raises(EntityUnavailableError, match="BD_Department"):
        list(hook.chart("cost_center"))
    with pytest.raises(VendorRequestError, match="业务对象不存在") as caught:
        list(hook.chart("gl_account"))
    assert not isinstance(caught.value, EntityUnavailableError)


def test_a_cost_centre_form_of_another_name_is_read_with_its_own_field_keys(connect):
    no_roles = {"parent": None, "valid_from": None, "valid_to": None}
    connect(chart_forms={"cost_center": {"form": "BD_Project", "fields": no_roles}})
    rows = list(KingdeeHook().chart("cost_center"))
    assert rows and all(r["FNumber"].startswith("XM") for r in rows)


def test_unknown_chart_kinds_and_roles_are_configuration_errors(connect):
    connect(chart_forms={"supplier": {"form": "BD_Supplier"}})
    with pytest.raises(ConfigurationError, match="supplier"):
        assert KingdeeHook().settings is None
    connect(chart_forms={"project": {"fields": {"owner": "FOwnerId"}}})
    with pytest.raises(ConfigurationError, match="owner"):
        list(KingdeeHook().chart("project"))


@pytest.mark.parametrize("how", ["switched_off", "form_missing"])
def test_the_chart_sync_completes_without_the_cost_centre_form_and_reports_it_skipped(mdm, kingdee, connect, how):
    extracted = extract_chart(mdm, KingdeeHook(), "test/1")
    merge_chart(mdm, extracted["loads"], "test/1")
    centers_before, active_before = mdm.execute(
        "SELECT count(*), count(*) FILTER (WHERE active) FROM mdm.cost_center"
    ).fetchone()
    assert active_before > 0
    if how == "switched_off":
        connect(chart_forms={"cost_center": {"enabled": False}})
    else:
        kingdee.reset(missing_forms=["BD_Department"])
    kingdee.mutate("add", form="BD_Project", number="XM2099001", name="新项目")

    extracted = extract_chart(mdm, KingdeeHook(), "test/2", full=True)
    merged = merge_chart(mdm, extracted["loads"], "test/2")

    assert set(extracted["skipped"]) == {"cost_center"}
    assert ("switched off" if how == "switched_off" else "BD_Department") in extracted["skipped"]["cost_center"]
    assert merged["cost_center"] == {"skipped": extracted["skipped"]["cost_center"]}
    assert merged["project"]["created"] == 1
    assert merged["gl_account"]["received"] > 0
    # the cost centres already known are left as they are, never deactivated for not being listed
    assert mdm.execute("SELECT count(*), count(*) FILTER (WHERE active) FROM mdm.cost_center").fetchone() == (
        centers_before,
        active_before,
    )


def test_prerequisites_name_the_expense_account_link_a_standard_k3cloud_lacks(kingdee, connect):
    connect(chart_forms={})  # the standard defaults: no link field
    [problem] = KingdeeHook().prerequisites()
    assert problem.startswith("chart_forms.expense_item.fields.gl_account: not set")
    connect(chart_forms={"expense_item": {"fields": {"gl_account": "F_ES_AccountId"}}})
    assert KingdeeHook().prerequisites() == []  # the sandbox's data center has that customisation
    kingdee.reset(extension_fields=[])  # a standard one has not
    [problem] = KingdeeHook().prerequisites()
    assert problem.startswith("chart_forms.expense_item: BD_Expense") and "F_ES_AccountId" in problem
