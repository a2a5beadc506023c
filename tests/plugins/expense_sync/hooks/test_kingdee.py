"""The Kingdee K3Cloud hook against its sandbox over HTTP: LoginBySign and session loss, ExecuteBillQuery
paging and error arrays, retries, the GL voucher lifecycle, the chart (also changed-since) and balances."""

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest

from expense_sync import mapping
from expense_sync.chart.extract import ENTITIES
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.errors import (
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknownError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.kingdee import KingdeeHook
from expense_sync.hooks.registry import erp_hook
from expense_sync_sandboxes.kingdee.chart import ACCOUNTS

SERVICE = "POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"
QUERY = SERVICE.format("DynamicFormService.ExecuteBillQuery")
LOGIN = SERVICE.format("AuthService.LoginBySign")
SAVE = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"


def canonical(kind, records):
    """The records of one chart mapped by ``include/mappings/kingdee``: canonical values by code."""
    spec = mapping.load("kingdee", ENTITIES[kind])
    mapped = [spec.apply(record) for record in records]
    assert [error for _, _, error in mapped if error] == []
    return {key: values for key, values, _ in mapped}


def voucher(ref, *lines, period="2025-03", day=15, **kw):
    year, month = map(int, period.split("-"))
    return Voucher(
        external_ref=ref,
        company="001",
        posting_date=dt.date(year, month, day),
        period=period,
        description=f"报销单 {ref}",
        lines=tuple(lines),
        **kw,
    )


def expense(ref, amount, account="6602.01", cost_center="BM000007", project=None, **kw):
    """A reimbursement: the expense on its account and dimensions, the payable to the employee."""
    amount = Decimal(amount)
    return voucher(
        ref,
        VoucherLine(account, debit=amount, cost_center=cost_center, project=project, text="差旅费报销"),
        VoucherLine("2241.01", credit=amount, text="应付员工报销款"),
        **kw,
    )


# -- login and session ----------------------------------------------------------------------------
def test_login_by_sign_opens_one_session_for_many_calls(sandboxes, kingdee):
    hook = erp_hook("kingdee")
    assert isinstance(hook, KingdeeHook)
    assert len(list(hook.chart("gl_account"))) == len(ACCOUNTS)
    assert len(list(hook.chart("project"))) > 0
    assert hook.stats["token_fetches"] == 1
    assert kingdee.stats()["calls"][LOGIN] == 1


def test_login_result_type_minus_5_is_a_success(kingdee):
    kingdee.reset(login_result_type=-5)
    hook = KingdeeHook()
    assert hook.get_token() and len(list(hook.chart("cost_center"))) > 0


def test_a_refused_sign_is_an_authentication_error_without_the_secret(connect):
    connect(password="not-the-app-secret")
    with pytest.raises(AuthenticationError) as caught:
        KingdeeHook().get_token()
    assert caught.value.code == 0 and "not-the-app-secret" not in str(caught.value)


def test_a_session_lost_mid_run_costs_exactly_one_extra_login(sandboxes, kingdee, connect):
    kingdee.reset(accounts=100)  # 5 pages of 20
    connect(page_size=20)
    kingdee.faults({"kind": "token_expired", "every": 3, "limit": 1, "paths": ["*ExecuteBillQuery*"]})
    hook = KingdeeHook()
    codes = [r["FNumber"] for r in hook.chart("gl_account")]
    assert len(codes) == len(set(codes)) == 100
    assert (hook.stats["token_fetches"], hook.stats["token_refusals"]) == (2, 1)
    assert kingdee.stats()["calls"][LOGIN] == 2


def test_an_expired_session_between_calls_is_renewed_once(kingdee):
    hook = KingdeeHook()
    before = list(hook.chart("expense_item"))
    kingdee.expire_tokens()
    assert list(hook.chart("expense_item")) == before
    assert (hook.stats["token_fetches"], hook.stats["token_refusals"]) == (2, 1)


def test_missing_account_ids_are_a_configuration_error(connect):
    connect(acct_id="")
    with pytest.raises(ConfigurationError, match="acct_id"):
        KingdeeHook().get_token()


# -- ExecuteBillQuery -----------------------------------------------------------------------------
@pytest.mark.parametrize(("extra", "calls"), [(1, 3), (6, 4)], ids=["not-a-multiple", "a-multiple"])
def test_paging_reads_to_the_last_row(kingdee, connect, extra, calls):
    size = len(ACCOUNTS) + extra  # 55: pages of 20, 20, 15; 60: 20, 20, 20 and an empty one
    kingdee.reset(accounts=size)
    connect(page_size=20)
    codes = [r["FNumber"] for r in KingdeeHook().chart("gl_account")]
    assert len(codes) == len(set(codes)) == size
    assert codes == sorted(codes)
    assert kingdee.stats()["calls"][QUERY] == calls


def test_a_server_that_cuts_limit_is_read_to_the_end(kingdee):
    kingdee.reset(max_limit=7, expense_items=50)
    items = list(KingdeeHook().chart("expense_item"))
    assert [i["FNumber"] for i in items] == [f"FYXM{n:04d}" for n in range(1, 51)]
    assert kingdee.stats()["calls"][QUERY] == 8  # 7 full pages and 1 short one: asked 2000, served 7


def test_an_error_array_is_a_typed_error_and_is_not_retried(sandboxes):
    hook = KingdeeHook()
    with pytest.raises(VendorRequestError, match="业务对象不存在"):
        list(hook.query("BD_NoSuchForm", ["FNumber"]))
    with pytest.raises(VendorRequestError, match="FNoSuchField"):
        list(hook.query("BD_Account", ["FNumber", "FNoSuchField"]))
    with pytest.raises(VendorRequestError, match="语法错误"):
        list(hook.query("BD_Account", ["FNumber"], "FNumber = = '1'"))
    assert hook.stats["retries"] == 0


@pytest.mark.parametrize("kind", ["throttle", "5xx", "html_throttle"])
def test_throttling_and_server_errors_are_retried(kingdee, connect, kind):
    kingdee.reset(accounts=len(ACCOUNTS) + 26)
    connect(page_size=20)
    clean = list(KingdeeHook().chart("gl_account"))
    kingdee.faults({"kind": kind, "every": 2})
    hook = KingdeeHook()
    assert list(hook.chart("gl_account")) == clean
    assert hook.stats["retries"] >= 2


def test_exhausted_retries_keep_the_status_and_no_session_id(kingdee, connect):
    connect(max_attempts=2)
    hook = KingdeeHook()
    session = hook.get_token()
    kingdee.faults({"kind": "5xx", "every": 1})
    with pytest.raises(TransientVendorError) as caught:
        list(hook.chart("project"))
    assert caught.value.status == 503
    assert session not in str(caught.value) + repr(caught.value.__dict__)


# -- the chart --------------------------------------------------------------------------------------
def test_the_chart_hands_over_k3cloud_rows(sandboxes):
    hook = KingdeeHook()
    accounts = {r["FNumber"]: r for r in hook.chart("gl_account")}
    travel = accounts["6602.01"]
    assert set(travel) == {
        "FNumber", "FName", "FForbidStatus", "FDocumentStatus", "FModifyDate", "FParentID", "FIsDetail", "FGROUPID",
        "_company",
    }  # fmt: skip
    assert (travel["FName"], travel["FParentID"], travel["FIsDetail"]) == ("差旅费", {"FNumber": "6602"}, True)
    assert (travel["FGROUPID"], travel["FForbidStatus"], travel["FDocumentStatus"]) == ({"FName": "期间费用"}, "A", "C")
    assert travel["FModifyDate"].tzinfo is not None and travel["_company"] == "100"
    assert accounts["6602"]["FParentID"] == {"FNumber": None}
    assert accounts["6601.04"]["FForbidStatus"] == "B"
    items = {r["FNumber"]: r for r in hook.chart("expense_item")}
    assert items["FYXM0001"]["GLAccount"] == {"FNumber": "6602.01"}  # the link field the connection names
    centers = {r["FNumber"]: r for r in hook.chart("cost_center")}
    assert centers["BM000007"]["FParentID"] == {"FNumber": "BM000002"} and centers["BM000007"]["FLapseDate"] is None


def test_with_the_standard_defaults_an_expense_item_has_no_account_link(connect):
    connect(chart_forms={})
    items = {r["FNumber"]: r for r in KingdeeHook().chart("expense_item")}
    assert "GLAccount" not in items["FYXM0001"]
    assert canonical("expense_item", items.values())["FYXM0001"]["gl_account_code"] is None


def test_the_account_link_field_on_a_standard_k3cloud_is_refused_as_k3cloud_does(kingdee):
    kingdee.reset(extension_fields=[])
    with pytest.raises(VendorRequestError, match="F_ES_AccountId"):
        list(KingdeeHook().chart("expense_item"))


def test_the_chart_maps_hierarchy_leaves_links_and_dimensions(sandboxes):
    hook = KingdeeHook()
    accounts = canonical("gl_account", hook.chart("gl_account"))
    assert accounts["6602"]["postable"] is False and accounts["6602"]["parent_code"] is None
    assert accounts["6602.01"]["postable"] is True and accounts["6602.01"]["parent_code"] == "6602"
    assert (accounts["6602.01"]["name"], accounts["6602.01"]["account_type"]) == ("差旅费", "期间费用")
    assert accounts["6602.01"]["account_class"] == "profit_loss" and accounts["1001"]["account_class"] == "asset"
    assert accounts["2221.01.01"]["parent_code"] == "2221.01"
    assert accounts["6601.04"]["active"] is False and accounts["6601.01"]["active"] is True  # forbidden
    assert accounts["1001"]["source_updated_at"].tzinfo is not None and accounts["1001"]["company"] == "100"
    items = canonical("expense_item", hook.chart("expense_item"))
    assert (items["FYXM0001"]["name"], items["FYXM0001"]["gl_account_code"]) == ("差旅费", "6602.01")
    centers = canonical("cost_center", hook.chart("cost_center"))
    assert (centers["BM000007"]["name"], centers["BM000007"]["parent_code"]) == ("会计部", "BM000002")
    assert isinstance(centers["BM000007"]["valid_from"], dt.date) and centers["BM000007"]["valid_to"] is None
    assert {p["name"] for p in canonical("project", hook.chart("project")).values()} >= {"ERP二期实施", "费控系统上线"}


def test_changed_since_returns_only_what_changed_after_a_mutation(kingdee):
    hook = KingdeeHook()
    assert all(hook.supports_changed_since(k) for k in ("gl_account", "expense_item", "cost_center", "project"))
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert list(hook.chart("gl_account", since)) == []
    kingdee.mutate("rename", form="BD_Account", number="6602.04", name="办公用品费")
    kingdee.mutate("add", form="BD_Account", number="6602.13", name="差旅补贴")
    kingdee.mutate("forbid", form="BD_Expense", number="FYXM0002")
    kingdee.mutate("add", form="BD_Department", number="BM000099", name="共享服务中心", parent="BM000002")
    changed = canonical("gl_account", hook.chart("gl_account", since))
    assert set(changed) == {"6602", "6602.04", "6602.13"}  # the new leaf's parent changed too
    assert changed["6602.04"]["name"] == "办公用品费" and changed["6602.13"]["postable"] is True
    assert [(c, v["active"]) for c, v in canonical("expense_item", hook.chart("expense_item", since)).items()] == [
        ("FYXM0002", False)
    ]
    centers = canonical("cost_center", hook.chart("cost_center", since))
    assert [(c, v["parent_code"]) for c, v in centers.items()] == [("BM000099", "BM000002")]
    assert list(hook.chart("project", since)) == []
    assert len(list(hook.chart("gl_account"))) == len(ACCOUNTS) + 1


# -- vouchers ---------------------------------------------------------------------------------------
def test_voucher_lifecycle_create_find_status_audit(kingdee):
    hook = KingdeeHook()
    created = hook.create_voucher(expense("BX-2025-0001", "1288.50", project="XM2024002"))
    assert (created.state, created.raw_state, created.number) == ("draft", "A", "记-1")
    assert (created.external_ref, created.period) == ("BX-2025-0001", "2025-03")
    assert hook.find_voucher("BX-2025-0001", "2025-03") == created
    assert hook.find_voucher("BX-2025-0001", "2025-04") is None
    assert hook.find_voucher("BX-2025-9999", "2025-03") is None
    assert hook.voucher_status(created.remote_id) == created

    kingdee.mutate("audit_voucher", external_ref="BX-2025-0001")  # the ERP accountant audits it
    audited = hook.voucher_status(created.remote_id)
    assert (audited.state, audited.raw_state, audited.number) == ("audited", "C", "记-1")

    [stored] = kingdee.state()["vouchers"]
    assert (stored["FVOUCHERGROUPID"], stored["FAccountBookID"], stored["F_ES_ExternalRef"]) == (
        "PRE001",
        "001",
        "BX-2025-0001",
    )
    assert [(e["FACCOUNTID"], e["FDEBIT"], e["FCREDIT"], e["FDetailID"]) for e in stored["FEntity"]] == [
        ("6602.01", "1288.50", "0.00", {"FFLEX5": "BM000007", "FF100002": "XM2024002"}),
        ("2241.01", "0.00", "1288.50", {}),
    ]


def test_submit_and_audit_through_the_hook_and_numbers_per_group(sandboxes):
    hook = KingdeeHook()
    first = hook.create_voucher(expense("BX-1", "10.00"))
    second = hook.create_voucher(expense("BX-2", "20.00"))
    transfer = hook.create_voucher(expense("BX-3", "30.00", voucher_type="PRE004"))
    assert (first.number, second.number, transfer.number) == ("记-1", "记-2", "转-1")
    hook.submit_voucher(second.remote_id)
    assert hook.voucher_status(second.remote_id).state == "submitted"
    hook.audit_voucher(second.remote_id)
    assert hook.voucher_status(second.remote_id).state == "audited"
    with pytest.raises(VendorRequestError, match="不是已提交状态"):
        hook.audit_voucher(first.remote_id)


def test_a_reference_with_quotes_is_found_exactly(sandboxes):
    hook = KingdeeHook()
    created = hook.create_voucher(expense("BX-O'Neil-1", "12.34"))
    hook.create_voucher(expense("BX-O'Neil-10", "56.78"))
    assert hook.find_voucher("BX-O'Neil-1", "2025-03") == created


def test_an_unbalanced_voucher_is_refused(sandboxes):
    hook = KingdeeHook()
    model = hook.voucher_model(expense("BX-UNBAL", "100.00"))
    model["FEntity"][1]["FCREDIT"] = "99.99"
    with pytest.raises(VendorRequestError, match="借贷不平衡") as caught:
        hook.call("DynamicFormService.Save", {"formid": "GL_VOUCHER", "data": {"Model": model}}, idempotent=False)
    assert caught.value.code == 11 and caught.value.status == 200
    assert hook.find_voucher("BX-UNBAL", "2025-03") is None


@pytest.mark.parametrize(
    ("account", "cost_center", "message"),
    [("6602", "BM000007", "不是明细科目"), ("6601.04", "BM000007", "已禁用"), ("6602.01", "BM999999", "部门")],
)
def test_vouchers_on_summary_forbidden_or_unknown_records_are_refused(sandboxes, account, cost_center, message):
    with pytest.raises(VendorRequestError, match=message):
        KingdeeHook().create_voucher(expense("BX-BAD", "50.00", account=account, cost_center=cost_center))


def test_success_written_as_text_is_understood(kingdee):
    kingdee.reset(is_success_text=True)
    hook = KingdeeHook()
    assert hook.create_voucher(expense("BX-T", "5.00")).number == "记-1"
    with pytest.raises(VendorRequestError, match="已禁用"):
        hook.create_voucher(expense("BX-F", "5.00", account="6601.04"))


def test_a_save_answered_too_late_is_an_unknown_outcome_and_a_lookup_finds_it(kingdee):
    hook = KingdeeHook()
    hook.get_token()
    kingdee.faults({"kind": "slow_commit", "every": 1, "delay": 2.5, "paths": [SAVE]})
    with pytest.raises(OutcomeUnknownError):
        hook.create_voucher(expense("BX-SLOW", "77.70"))
    kingdee.faults()
    found = hook.find_voucher("BX-SLOW", "2025-03")
    assert found is not None and found.state == "draft"
    assert len(kingdee.state()["vouchers"]) == 1  # sent once: a non-idempotent call is never resent


def test_balances_equal_the_created_vouchers_to_the_cent(sandboxes):
    hook = KingdeeHook()
    rng = random.Random(7)
    accounts = ["6602.01", "6602.02", "6602.03", "6601.01"]
    centers = [None, "BM000007", "BM000011", "BM000014"]
    projects = [None, "XM2024001", "XM2024006"]
    expected: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal("0"), Decimal("0")])
    for i in range(40):
        amount = (
            Decimal(rng.choice(["0.10", "0.20", "0.30", "1234567.89", "88.88"])) + Decimal(rng.randrange(100)) / 100
        )
        line = (rng.choice(accounts), rng.choice(centers), rng.choice(projects))
        v = expense(f"BX-B{i:03d}", amount, account=line[0], cost_center=line[1], project=line[2], day=1 + i % 28)
        hook.create_voucher(v)
        for entry in v.lines:
            key = (entry.account_code, entry.cost_center, entry.project)
            expected[key][0] += entry.debit
            expected[key][1] += entry.credit
        if i % 3 == 0:
            hook.submit_voucher(hook.find_voucher(v.external_ref, v.period).remote_id)
    hook.create_voucher(expense("BX-APRIL", "999.99", period="2025-04"))  # another period

    balances = hook.balances("001", "2025-03")
    got = {(b.account_code, b.cost_center, b.project): [b.debit, b.credit] for b in balances}
    assert got == dict(expected)
    assert all(isinstance(b.debit, Decimal) and b.period == "2025-03" for b in balances)
    total = sum(b.debit for b in balances)
    assert total == sum(b.credit for b in balances) == sum(v[0] for v in expected.values())
    assert hook.balances("001", "2025-02") == []


def test_the_period_ledger_is_the_balances_and_the_vouchers_from_one_read(kingdee, connect):
    """The month end's read: what ``balances`` and ``period_vouchers`` say, from half their pages."""
    connect(page_size=3)  # several pages for each read
    hook = KingdeeHook()
    for i, ref in enumerate(("BX-L1", "BX-L2", "BX-L3")):
        hook.create_voucher(expense(ref, f"{10 + i}.05", cost_center=["BM000007", "BM000011", None][i]))
    hook.submit_voucher(hook.find_voucher("BX-L2", "2025-03").remote_id)
    hook.create_voucher(expense("BX-L4", "99.00", period="2025-04"))  # another period
    kingdee.mutate(
        "manual_voucher",
        company="001",
        date="2025-03-21",
        lines=[{"account": "6602.01", "debit": "7.00"}, {"account": "2241.01", "credit": "7.00"}],
    )
    before = kingdee.stats()["calls"][QUERY]
    balances, vouchers = hook.balances("001", "2025-03"), hook.period_vouchers("001", "2025-03")
    apart = kingdee.stats()["calls"][QUERY] - before

    ledger = hook.period_ledger("001", "2025-03", ["BX-L1", "BX-L2", "BX-L3"])
    together = kingdee.stats()["calls"][QUERY] - before - apart
    assert ledger.balances == balances and sum(b.debit for b in balances) == Decimal("40.15")
    by_id = {s.remote_id: s for s in vouchers}
    assert {s.remote_id: s for s in ledger.vouchers} == by_id and len(by_id) == 4
    assert sorted(s.external_ref or "" for s in ledger.vouchers) == ["", "BX-L1", "BX-L2", "BX-L3"]
    states = {s.external_ref: s.state for s in ledger.vouchers}
    assert states["BX-L2"] != states["BX-L1"]  # the submitted one read as such
    assert together * 2 == apart, (together, apart)
