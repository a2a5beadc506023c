"""SapHook against the SAP sandbox over real HTTP: auth, CSRF, paging, errors, chart, vouchers, balances."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import requests

from expense_sync import mapping
from expense_sync.chart.extract import ENTITIES
from expense_sync.erp.model import Balance, Voucher, VoucherLine
from expense_sync.hooks.errors import (
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknownError,
    PaginationError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import NEXT_LINK, NextLinkPaginator
from expense_sync.hooks.sap import SapHook
from expense_sync.hooks.sap.journal import SOAP_ACTION, create_request, reference_id
from expense_sync_sandboxes.sap.soap import ENDPOINT
from testkit import FAST

GL_PATH = "GET /sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountInChartOfAccounts"


@pytest.fixture
def sap(sandboxes):
    return sandboxes.control("sap")


@pytest.fixture
def make_hook(sandboxes, monkeypatch):
    """A fresh SapHook on ``erp_sap``, with extra connection settings or a different password."""

    def make(password: str | None = None, **extra) -> SapHook:
        conn = json.loads(sandboxes.connection("erp_sap", **{**FAST, **extra}))
        if password is not None:
            conn["password"] = password
        monkeypatch.setenv("AIRFLOW_CONN_ERP_SAP", json.dumps(conn))
        return SapHook()

    return make


def mapped(kind: str, records) -> dict[str, dict]:
    """The canonical values of SAP records of ``kind``, by key, mapped through ``include/mappings/sap``."""
    spec, found = mapping.load("sap", ENTITIES[kind]), {}
    for record in records:
        key, values, error = spec.apply(record)
        assert error is None, (key, error)
        found[key] = values
    return found


def voucher(
    ref: str,
    *lines: VoucherLine,
    company: str = "1000",
    day: dt.date = dt.date(2024, 5, 20),
    description: str = "差旅报销",
) -> Voucher:
    return Voucher(
        external_ref=ref,
        company=company,
        posting_date=day,
        period=day.strftime("%Y-%m"),
        description=description,
        lines=lines,
    )


def expense(ref: str, amount: str, cost_center: str = "1000000001", account: str = "6602010000", **kw) -> Voucher:
    value = Decimal(amount)
    return voucher(
        ref,
        VoucherLine(account, debit=value, cost_center=cost_center, text=f"{ref} 报销"),
        VoucherLine("2241010000", credit=value, text=f"{ref} 应付"),
        **kw,
    )


# -- auth -----------------------------------------------------------------------------------------
def test_basic_auth_is_sent_and_a_wrong_password_is_an_authentication_error(sap, make_hook):
    assert len(list(make_hook().chart("gl_account"))) == 40

    hook = make_hook(password="not-the-password")
    with pytest.raises(AuthenticationError) as caught:
        list(hook.chart("gl_account"))
    assert caught.value.status == 401
    assert "not-the-password" not in str(caught.value)
    assert sap.stats()["calls"]["auth_refused"] == 1  # refused credentials are not retried

    assert len(list(make_hook(sap_client="100").chart("project"))) == 6
    with pytest.raises(AuthenticationError):
        list(make_hook(sap_client="200").chart("project"))  # the sap-client header reaches the server


def test_oauth_client_credentials_token_is_fetched_and_refreshed(sap, make_hook):
    issued = sap.stats()["tokens_issued"]
    hook = make_hook(oauth_token_url="/sap/bc/sec/oauth2/token")
    assert len(list(hook.chart("project"))) == 6
    sap.expire_tokens()
    assert len(list(hook.chart("project"))) == 6
    assert hook.stats["token_fetches"] == 2 and hook.stats["token_refusals"] == 1
    assert sap.stats()["tokens_issued"] - issued == 2
    assert sap.stats()["calls"].get("auth_refused") == 1
    assert hook.create_voucher(expense("BX-OAUTH", "10.00")).state == "posted"  # bearer token, no CSRF


def test_unknown_connection_extras_fail(make_hook):
    with pytest.raises(ConfigurationError, match="bogus"):
        list(make_hook(bogus=1).chart("project"))


# -- paging and errors ----------------------------------------------------------------------------
def test_paging_follows_next_links_when_the_server_caps_pages_below_top(sap, make_hook):
    sap.reset(gl_accounts=130, page_cap=7)
    hook = make_hook(page_size=50)
    codes = [r["GLAccount"] for r in hook.chart("gl_account")]
    assert len(codes) == len(set(codes)) == 130
    assert codes == sorted(codes)
    # 3 windows of $top=50 (50, 50, 30 records), each served 7 at a time through __next
    assert sap.stats()["calls"][GL_PATH] == 8 + 8 + 5


def test_next_link_paginator_never_stops_on_a_short_page_while_next_exists():
    bodies = iter(
        [
            {"d": {"results": [1, 2], "__count": "5", "__next": "http://h/S/E?$skiptoken=2"}},
            {"d": {"results": [3], "__count": "5", "__next": "http://h/S/E?$skiptoken=3"}},
            {"d": {"results": [4], "__count": "5"}},
            {"d": {"results": [5], "__count": "5"}},
        ]
    )
    asked = []

    def fetch(page):
        asked.append(page)
        return next(bodies)

    pages = list(NextLinkPaginator(size=4).pages(fetch))
    assert [x for page in pages for x in page] == [1, 2, 3, 4, 5]
    assert asked[1] == {NEXT_LINK: "http://h/S/E?$skiptoken=2"}
    assert asked[3] == {"$inlinecount": "allpages", "$top": 4, "$skip": 4}


def test_a_next_link_to_another_origin_is_refused(make_hook):
    hook = make_hook()
    with pytest.raises(PaginationError):
        hook._next_url("https://elsewhere.example.com/sap/opu/odata/sap/X/Y?$skiptoken=5")
    assert hook._next_url("/sap/x?$skiptoken=5") == f"{hook.base_url}/sap/x?$skiptoken=5"


def test_odata_error_bodies_become_typed_errors_keeping_the_code(make_hook):
    hook = make_hook()
    with pytest.raises(VendorRequestError) as caught:
        list(hook.odata_rows("API_COSTCENTER_SRV", "A_CostCenter", {"$filter": "NoSuchField eq 'x'"}))
    assert (caught.value.status, caught.value.code) == (400, "/IWBEP/CM_MGW_RT/022")
    assert "NoSuchField" in caught.value.message
    with pytest.raises(VendorRequestError) as caught:
        list(hook.odata_rows("API_COSTCENTER_SRV", "A_NoSuchSet", {}))
    assert (caught.value.status, caught.value.code) == (404, "/IWBEP/CM_MGW_RT/020")


def test_throttling_and_server_errors_are_retried(sap, make_hook):
    sap.reset(gl_accounts=60, page_cap=10)
    sap.faults({"kind": "5xx", "every": 2, "limit": 3}, {"kind": "throttle", "every": 3, "limit": 2})
    hook = make_hook(page_size=20)
    assert len(list(hook.chart("gl_account"))) == 60
    assert sap.stats()["faults_fired"] == {"5xx": 3, "throttle": 2}
    assert hook.stats["retries"] == 5 and hook.stats["throttled"] == 2

    sap.reset(throttle_status=503)
    sap.faults({"kind": "throttle", "every": 1, "limit": 2})
    hook = make_hook()
    assert len(list(hook.chart("project"))) == 6
    assert hook.stats["throttled"] == 2

    sap.faults({"kind": "5xx", "every": 1})
    with pytest.raises(TransientVendorError) as caught:
        list(make_hook(max_attempts=3).chart("project"))
    assert (caught.value.status, caught.value.code) == (500, "/IWFND/CM_BEC/026")


# -- chart ----------------------------------------------------------------------------------------
def test_gl_accounts_are_named_from_to_text_in_the_configured_language(make_hook):
    records = {r["GLAccount"]: r for r in make_hook().chart("gl_account")}
    travel = records["6602010000"]
    assert (travel["GLAccountType"], travel["AccountIsBlockedForPosting"]) == ("P", False)
    assert travel["_text"]["Language"] == "ZH" and travel["_text"] in travel["to_Text"]["results"]
    accounts = mapped("gl_account", records.values())
    assert accounts["6602010000"]["name"] == "管理费用-差旅费"
    assert [accounts["6602010000"][f] for f in ("account_type", "account_class", "active", "postable")] == [
        "P",
        "profit_loss",
        True,
        True,
    ]
    assert accounts["6602010000"]["source_updated_at"].tzinfo is not None
    assert (accounts["1001010000"]["account_type"], accounts["1001010000"]["account_class"]) == ("C", "balance_sheet")
    assert records["6602980000"]["AccountIsBlockedForPosting"] and not accounts["6602980000"]["active"]
    assert records["6602990000"]["AccountIsMarkedForDeletion"] and not accounts["6602990000"]["active"]

    english = {r["GLAccount"]: r for r in make_hook(language="EN").chart("gl_account")}
    assert english["6602050000"]["_text"]["Language"] == "ZH"  # no EN text: the one there is
    names = {code: values["name"] for code, values in mapped("gl_account", english.values()).items()}
    assert names["6602010000"] == "Admin Exp. - Travel"
    assert names["6602050000"] == "管理费用-通讯费"


def test_expense_items_are_the_primary_cost_accounts_of_the_expense_groups(make_hook):
    hook = make_hook()
    records = list(hook.chart("expense_item"))
    assert {(r["GLAccountType"], r["GLAccountGroup"]) for r in records} == {("P", "EXPN")}
    items = mapped("expense_item", records)
    assert len(items) == 28  # the chart keeps 45 accounts: 2241030000 预提费用 took a filler expense account's place
    assert items["6602040000"]["gl_account_code"] == "6602040000"
    assert items["6602040000"]["name"] == "管理费用-交通费"
    assert "6603010000" not in items  # non-operating (N)
    assert "6001000000" not in items  # revenue: primary, but not an expense group


def test_changed_since_returns_accounts_changed_or_renamed_after_the_watermark(sap, make_hook):
    hook = make_hook()
    assert hook.supports_changed_since("gl_account") and hook.supports_changed_since("expense_item")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert list(hook.chart("gl_account", since=since)) == []
    sap.mutate("block_gl_account", gl_account="6602020000")
    sap.mutate("rename_gl_account", gl_account="6602030000", name="管理费用-招待费")  # stamps the text only
    sap.mutate("add_gl_account", gl_account="6602070000", name="管理费用-福利费")

    changed = mapped("gl_account", hook.chart("gl_account", since=since))
    assert set(changed) == {"6602020000", "6602030000", "6602070000"}
    assert not changed["6602020000"]["active"]
    assert changed["6602030000"]["name"] == "管理费用-招待费"
    assert changed["6602030000"]["source_updated_at"] >= since.replace(microsecond=0)  # the text's time
    assert {r["GLAccount"] for r in hook.chart("expense_item", since=since)} == set(changed)
    assert list(hook.chart("gl_account", since=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2))) == []


def test_cost_centers_take_the_validity_period_of_today(sap, make_hook):
    hook = make_hook()
    assert not hook.supports_changed_since("cost_center")
    records = {r["CostCenter"]: r for r in hook.chart("cost_center")}
    centers = mapped("cost_center", records.values())
    assert len(centers) == 20
    renamed = centers["1000000003"]  # two periods: 2020-2023 "研发中心(旧)", then from 2024
    assert records["1000000003"]["_current"] and records["1000000003"]["_text"]["CostCenterName"] == "研发中心"
    assert (renamed["name"], renamed["valid_from"], renamed["valid_to"]) == (
        "研发中心",
        dt.date(2024, 1, 1),
        dt.date(9999, 12, 31),
    )
    assert renamed["active"] and renamed["company"] == "1000" and renamed["owner_unit"] == "D003"
    expired = centers["2000000020"]
    assert not records["2000000020"]["_current"]
    assert not expired["active"] and expired["valid_to"] == dt.date(2022, 12, 31)
    assert records["2000000004"]["IsBlkdForPrimaryCostsPosting"] == "X" and not centers["2000000004"]["active"]

    sap.mutate("rename_cost_center", cost_center="1000000001", name="财务共享中心")
    sap.mutate("add_cost_center", cost_center="1000000099", name="新设部门", valid_from="2024-06-01")
    centers = mapped("cost_center", hook.chart("cost_center"))
    assert centers["1000000001"]["name"] == "财务共享中心"
    assert centers["1000000099"]["valid_from"] == dt.date(2024, 6, 1) and centers["1000000099"]["active"]


def test_projects_map_status_and_dates_and_filter_on_change(sap, make_hook):
    hook = make_hook()
    records = {r["Project"]: r for r in hook.chart("project")}
    projects = mapped("project", records.values())
    assert len(projects) == 6
    assert [records[p]["ProcessingStatus"] for p in ("P100001", "P100004", "P100006")] == ["10", "00", "42"]
    assert projects["P100001"]["active"] and projects["P100004"]["active"]  # released, created
    assert not projects["P100006"]["active"]  # 42: closed
    assert projects["P100001"]["valid_to"] == dt.date(2026, 12, 31)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    sap.mutate("set_project_status", project="P100002", status="42")
    changed = mapped("project", hook.chart("project", since=since))
    assert [(code, values["active"]) for code, values in changed.items()] == [("P100002", False)]


# -- CSRF (OData writes only) ----------------------------------------------------------------------
ODATA_ROOT = "/sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/"
ODATA_SET = ODATA_ROOT + "A_GLAccountInChartOfAccounts"
SANDBOX_AUTH = ("EXPENSE_SYNC_COMM", "sap-sandbox-password")


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "MERGE", "DELETE"])
def test_an_odata_write_without_a_csrf_token_is_refused_with_x_csrf_token_required(sandboxes, method):
    base = sandboxes.url("sap")
    target = ODATA_SET if method == "POST" else f"{ODATA_SET}(ChartOfAccounts='YCOA',GLAccount='6602010000')"
    answer = requests.request(method, base + target, auth=SANDBOX_AUTH, json={"GLAccount": "6602070000"}, timeout=10)
    assert answer.status_code == 403
    assert answer.headers["x-csrf-token"] == "Required"
    assert answer.text == "CSRF token validation failed"

    with requests.Session() as session:  # with a token of the session: past the check, to a read-only set
        fetched = session.head(base + ODATA_ROOT, auth=SANDBOX_AUTH, headers={"x-csrf-token": "Fetch"}, timeout=10)
        token = fetched.headers["x-csrf-token"]
        answer = session.request(
            method, base + target, auth=SANDBOX_AUTH, json={}, headers={"x-csrf-token": token}, timeout=10
        )
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "/IWBEP/CM_MGW_RT/021"


def test_the_soap_endpoint_takes_no_csrf_token_and_the_hook_sends_none(sap, sandboxes, make_hook):
    envelope = create_request(expense("BX-NOCSRF-0", "5.00"), company="1000", document_type="SA", created_by="TESTER")
    answer = requests.post(
        sandboxes.url("sap") + ENDPOINT,
        data=envelope,
        auth=SANDBOX_AUTH,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": SOAP_ACTION},
        timeout=10,
    )
    assert answer.status_code == 200 and "0100000001" in answer.text

    hook = make_hook()
    hook.create_voucher(expense("BX-NOCSRF-1", "10.00"))
    hook.create_voucher(expense("BX-NOCSRF-2", "20.00"))
    calls = sap.stats()["calls"]
    assert calls.get("csrf_fetches", 0) == 0 and calls.get("csrf_refused", 0) == 0
    assert not [call for call in calls if call.startswith("HEAD ")]  # no token fetch of any kind
    assert calls[f"POST {ENDPOINT}"] == 3
    assert [e["DocumentReferenceID"] for e in sap.state()["journal_entries"]] == [
        "BX-NOCSRF-0",
        "BX-NOCSRF-1",
        "BX-NOCSRF-2",
    ]


# -- vouchers -------------------------------------------------------------------------------------
def test_posted_journal_entry_is_found_by_external_ref_and_is_posted_with_its_number(sap, make_hook):
    hook = make_hook()
    created = hook.create_voucher(
        voucher(
            "BX2024050001",
            VoucherLine("6602010000", debit=Decimal("1200.00"), cost_center="1000000001", text="北京出差"),
            VoucherLine("6602040000", debit=Decimal("35.50"), cost_center="1000000001", project="P100001"),
            VoucherLine("2241010000", credit=Decimal("1235.50")),
        )
    )
    assert (created.remote_id, created.number) == ("1000/2024/0100000001", "0100000001")
    assert created.state == "posted"

    found = hook.find_voucher("BX2024050001", "2024-05")
    assert found == created
    assert hook.voucher_status(created.remote_id) == created
    assert hook.find_voucher("BX2024050001", "2024-06") is None
    assert hook.find_voucher("BX-NOT-THERE", "2024-05") is None

    entry = sap.state()["journal_entries"][0]
    assert [i["amount"] for i in entry["Items"]] == ["1200.00", "35.50", "-1235.50"]
    assert [i["debit_credit"] for i in entry["Items"]] == ["S", "S", "H"]
    assert entry["Items"][1]["wbs_element"] == "P100001"
    assert (entry["DocumentHeaderText"], entry["AccountingDocumentType"]) == ("差旅报销", "SA")


def test_an_external_ref_longer_than_document_reference_id_is_carried_as_its_digest(sap, make_hook):
    hook = make_hook()
    ref = "ROLLUP/2024-05/1000/1000000001/6602010000"
    created = hook.create_voucher(expense(ref, "88.80"))
    stored = sap.state()["journal_entries"][0]["DocumentReferenceID"]
    assert stored == reference_id(ref) and len(stored) == 16
    assert hook.find_voucher(ref, "2024-05") == created
    assert hook.find_voucher(ref + "X", "2024-05") is None


def test_a_refused_entry_is_a_typed_error_with_the_log_notes(sap, make_hook):
    hook = make_hook()
    with pytest.raises(VendorRequestError) as caught:
        hook.create_voucher(expense("BX-BLOCKED", "10.00", account="6602980000"))
    assert caught.value.code == "351(F5)"
    assert "6602980000" in caught.value.message and "blocked for posting" in caught.value.message

    sap.mutate("close_period", company="1000", period="2024-04")
    with pytest.raises(VendorRequestError) as caught:
        hook.create_voucher(expense("BX-CLOSED", "10.00", day=dt.date(2024, 4, 30)))
    assert caught.value.code == "201(F5)"

    envelope = create_request(
        expense("BX-UNBALANCED", "100.00"), company="1000", document_type="SA", created_by="TESTER"
    )
    (confirmation,) = hook.post_journal_entries(envelope.replace(b">-100.00<", b">-90.00<"))
    assert confirmation.failed and confirmation.document == "0000000000"
    assert ("702(F5)", 3, "Balance in transaction currency") in confirmation.log
    assert sap.state()["journal_entries"] == []
    assert sap.stats()["calls"]["postings_refused"] == 3


def test_a_soap_fault_is_a_typed_error(sap, make_hook):
    hook = make_hook()
    with pytest.raises(VendorRequestError) as caught:
        hook.create_voucher(expense("BX-FAULT", "10.00", company="TOOLONG"))
    assert (caught.value.status, caught.value.code) == (500, "Client")
    assert "CompanyCode" in caught.value.message
    assert sap.stats()["calls"][f"POST {ENDPOINT}"] == 1  # a client fault is not sent again

    sap.faults({"kind": "5xx", "every": 1, "paths": [ENDPOINT]})
    with pytest.raises(OutcomeUnknownError) as caught:
        hook.create_voucher(expense("BX-SERVER", "10.00"))
    assert caught.value.code == "Server"
    assert sap.stats()["calls"][f"POST {ENDPOINT}"] == 2  # not idempotent: never re-sent blindly


def test_balances_equal_the_posted_entries_to_the_cent(make_hook):
    hook = make_hook()
    posted = [
        expense("BX-B1", "1234.56", cost_center="1000000001"),
        expense("BX-B2", "0.01", cost_center="1000000001"),
        expense("BX-B3", "99.99", cost_center="1000000003", account="6602020000"),
        voucher(
            "BX-B4",
            VoucherLine("6602030000", debit=Decimal("300.00"), cost_center="1000000003"),
            VoucherLine("1002010000", credit=Decimal("120.00")),
            VoucherLine("2241010000", credit=Decimal("180.00")),
        ),
        voucher(
            "BX-B5",
            VoucherLine("2241010000", debit=Decimal("1234.57")),  # paying out
            VoucherLine("1002010000", credit=Decimal("1234.57")),
        ),
        expense("BX-OTHER-PERIOD", "500.00", day=dt.date(2024, 6, 3)),
        expense("BX-OTHER-COMPANY", "700.00", company="2000", cost_center="2000000002"),
    ]
    for v in posted:
        hook.create_voucher(v)

    expected: dict[tuple, list[Decimal]] = {}
    for v in posted[:5]:
        for line in v.lines:
            totals = expected.setdefault((line.account_code, line.cost_center or ""), [Decimal(0)] * 2)
            totals[0] += line.debit
            totals[1] += line.credit
    # the parallel ledger 2L holds the same items again: only the leading ledger may be read
    assert hook.balances("1000", "2024-05") == [
        Balance("1000", "2024-05", account, debit, credit, cost_center=cost_center or None)
        for (account, cost_center), (debit, credit) in sorted(expected.items())
    ]
    payable = [b for b in hook.balances("1000", "2024-05") if b.account_code == "2241010000"]
    assert (payable[0].debit, payable[0].credit) == (Decimal("1234.57"), Decimal("1514.56"))
    assert sum(b.debit for b in hook.balances("1000", "2024-06")) == Decimal("500.00")
