"""The Yonyou hook against its sandbox over real HTTP: discovery, signed tokens, paging, codes,
retries, the voucher lifecycle and its idempotency, changed-since charts, balances, NC Cloud."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

from expense_sync import mapping
from expense_sync.chart.extract import ENTITIES
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.errors import AuthenticationError, ConfigurationError, OutcomeUnknownError, VendorRequestError
from expense_sync.hooks.yonyou import YonyouHook
from expense_sync_sandboxes.yonyou import ncc

ACCOUNTS_PATH = "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager"
ADD_VOUCHER = "/yonbip/fi/ficloud/openapi/voucher/addVoucher"
PERIOD = "2025-03"


@pytest.fixture
def yonyou(sandboxes):
    return sandboxes.control("yonyou")


def connect(monkeypatch, *, login: str | None = None, password: str | None = None, **extra) -> YonyouHook:
    """A new hook on ``erp_yonyou`` with the sandbox fixture's connection, changed as asked."""
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_YONYOU"])
    conn["extra"].update(extra)
    conn.update({k: v for k, v in (("login", login), ("password", password)) if v is not None})
    monkeypatch.setenv("AIRFLOW_CONN_ERP_YONYOU", json.dumps(conn))
    return YonyouHook()


def claim(
    ref: str,
    amount: str = "1200.00",
    *,
    cost_center: str | None = "CC0101",
    project: str | None = None,
    period: str = PERIOD,
) -> Voucher:
    money = Decimal(amount)
    return Voucher(
        external_ref=ref,
        company="0001",
        posting_date=dt.date.fromisoformat(f"{period}-15"),
        period=period,
        description=f"差旅报销 {ref}",
        lines=(
            VoucherLine("660201", debit=money, cost_center=cost_center, project=project, text="差旅费"),
            VoucherLine("224101", credit=money, text="应付报销款"),
        ),
    )


def canonical(kind: str, records) -> dict[str, dict]:
    """The hook's records of one chart mapped by ``include/mappings/yonyou``, by key."""
    spec = mapping.load("yonyou", ENTITIES[kind])
    out = {}
    for record in records:
        key, values, error = spec.apply(record)
        assert error is None, (key, error)
        out[key] = values
    return out


def calls(control, path: str) -> int:
    return sum(n for key, n in control.stats()["calls"].items() if key.endswith(path))


# -- discovery, token, codes -------------------------------------------------------------------------
def test_discovers_the_gateway_and_signs_its_token(yonyou):
    issued = yonyou.stats()["tokens_issued"]  # the sandbox counts across resets
    hook = YonyouHook()
    records = {r["code"]: r for r in hook.chart("gl_account")}
    accounts = canonical("gl_account", records.values())

    assert len(records) == len(accounts) == 59  # with 224103 预提费用
    assert records["100201"]["parent_code"] == "1002" and records["100201"]["isEnd"] is True
    assert records["1002"]["accproperty_name"] == "资产" and records["660201"]["ts"].tzinfo is not None
    assert accounts["100201"]["parent_code"] == "1002" and accounts["100201"]["postable"] is True
    assert accounts["1002"]["postable"] is False and accounts["1002"]["account_type"] == "资产"
    assert accounts["1002"]["account_class"] == "asset" and accounts["100201"]["active"] is True
    assert accounts["660201"]["name"] == "差旅费" and accounts["660201"]["source_updated_at"].year == 2024
    assert hook.endpoints[0].endswith("/iuap-api-gateway") and hook.endpoints[1].endswith("/iuap-api-auth")
    stats = yonyou.stats()
    assert stats["calls"]["GET /open-auth/dataCenter/getGatewayAddress"] == 1
    assert stats["calls"]["GET /iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"] == 1
    assert stats["tokens_issued"] - issued == 1 and hook.stats["token_fetches"] == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"password": "not-the-app-secret"}, "10016"),
        ({"login": "unknownappkey"}, "10018"),
        ({"tenant_id": "nosuchtenant"}, "500"),
    ],
)
def test_refused_credentials_are_authentication_errors(yonyou, monkeypatch, change, code):
    hook = connect(monkeypatch, **change)
    with pytest.raises(AuthenticationError) as caught:
        next(hook.chart("project"))
    assert caught.value.code == code
    assert "not-the-app-secret" not in str(caught.value)


def test_older_nested_token_answer(yonyou):
    yonyou.reset(token_shape="nested")
    assert len(list(YonyouHook().chart("project"))) == 30


def test_token_refreshed_once_when_it_dies_mid_run(yonyou, monkeypatch):
    yonyou.reset(accounts=53)
    yonyou.faults({"kind": "token_expired", "every": 3, "limit": 1, "paths": [f"*{ACCOUNTS_PATH}"]})
    hook = connect(monkeypatch, page_size=10)
    issued = yonyou.stats()["tokens_issued"]

    codes = [r["code"] for r in hook.chart("gl_account")]

    assert len(codes) == len(set(codes)) == 53
    assert hook.stats["token_fetches"] == 2 and hook.stats["token_refusals"] == 1
    assert yonyou.stats()["tokens_issued"] - issued == 2


def test_token_refreshed_on_310036_inside_a_json_answer(yonyou):
    hook = YonyouHook()
    created = hook.create_voucher(claim("EXP-T1"))
    yonyou.expire_tokens()

    assert hook.voucher_status(created.remote_id).remote_id == created.remote_id
    assert hook.stats["token_fetches"] == 2 and hook.stats["token_refusals"] == 1


def test_page_numbers_to_the_last_short_page(yonyou, monkeypatch):
    yonyou.reset(accounts=53, expense_items=23)
    hook = connect(monkeypatch, page_size=10)

    accounts = [r["code"] for r in hook.chart("gl_account")]
    items = [r["code"] for r in hook.chart("expense_item")]

    assert accounts == sorted(set(accounts)) and len(accounts) == 53
    assert calls(yonyou, ACCOUNTS_PATH) == 6  # 5 full pages and one of 3
    assert len(items) == 23 and calls(yonyou, "/querybd/expenseitem") == 3


def test_string_and_numeric_codes(yonyou):
    hook = YonyouHook()
    assert all("isEnd" in r for r in hook.chart("gl_account"))  # "code": "200"
    records = list(hook.chart("expense_item"))  # "code": 200, "success": true
    items = canonical("expense_item", records)
    assert {r["code"]: r["accsubject_code"] for r in records}["0102"] == "660201"
    assert items["0102"]["parent_code"] == "01" and items["0102"]["gl_account_code"] == "660201"

    with pytest.raises(VendorRequestError) as failed:  # {"success": false, "code": 0}
        hook.request(
            "POST",
            "/yonbip/fi/fipub/basedoc/querybd/costcenter",
            json={"conditions": [{"field": "nosuchfield", "value": "1", "operator": ">="}]},
        )
    assert failed.value.code == "0" and "查询失败" in failed.value.message

    with pytest.raises(VendorRequestError) as missing:  # {"code": "404", "message": "凭证不存在！"}
        hook.voucher_status("1")
    assert missing.value.code == "404" and missing.value.message == "凭证不存在！"

    with pytest.raises(VendorRequestError) as unknown:  # HTTP 404 + 310404
        hook.request("POST", "/yonbip/not/registered", json={})
    assert (unknown.value.status, unknown.value.code) == (404, "310404")

    yonyou.mutate("revoke_api", path=ACCOUNTS_PATH)
    with pytest.raises(VendorRequestError) as revoked:
        next(hook.chart("gl_account"))
    assert revoked.value.code == "310037"


@pytest.mark.parametrize("throttle_status", [429, 200])
def test_throttling_and_server_errors_are_retried(yonyou, monkeypatch, throttle_status):
    yonyou.reset(accounts=53, throttle_status=throttle_status)
    yonyou.faults(
        {"kind": "throttle", "every": 2, "paths": [f"*{ACCOUNTS_PATH}"]},
        {"kind": "5xx", "every": 3, "paths": [f"*{ACCOUNTS_PATH}"]},
    )
    hook = connect(monkeypatch, page_size=10)

    assert len({r["code"] for r in hook.chart("gl_account")}) == 53
    fired = yonyou.stats()["faults_fired"]
    assert fired["throttle"] > 0 and fired["5xx"] > 0
    assert hook.stats["throttled"] == fired["throttle"]
    assert hook.stats["retries"] == fired["throttle"] + fired["5xx"]


# -- vouchers ----------------------------------------------------------------------------------------
def test_voucher_lifecycle(yonyou):
    hook = YonyouHook()
    created = hook.create_voucher(claim("EXP-0001"))
    assert (created.state, created.raw_state, created.number) == ("draft", "01", "1")
    assert (created.external_ref, created.period) == ("EXP-0001", PERIOD)

    found = hook.find_voucher("EXP-0001", PERIOD)
    assert found is not None and found.remote_id == created.remote_id and found.state == "draft"
    assert hook.find_voucher("EXP-0002", PERIOD) is None

    yonyou.mutate("audit_voucher", voucher_id=created.remote_id)
    audited = hook.voucher_status(created.remote_id)
    assert (audited.state, audited.raw_state, audited.number) == ("audited", "03", "1")
    assert audited.external_ref == "EXP-0001"

    yonyou.mutate("post_voucher", voucher_id=created.remote_id)
    assert hook.find_voucher("EXP-0001", PERIOD).state == "posted"
    voucher = yonyou.state()["vouchers"][0]
    assert voucher["business_id"] == "EXP-0001" and voucher["external"]["dataId"] == "EXP-0001"
    assert [b["auxiliary"] for b in voucher["bodies"]][0][0]["code"] == "CC0101"


def test_find_voucher_searches_every_book(yonyou, monkeypatch):
    hook = connect(monkeypatch, accbook_code="0002")
    created = hook.create_voucher(claim("EXP-0003"))  # booked in 0001
    assert hook.find_voucher("EXP-0003", PERIOD).remote_id == created.remote_id


@pytest.mark.parametrize("duplicate_answer", ["error", "existing"])
def test_a_repeated_reference_makes_no_second_voucher(yonyou, duplicate_answer):
    yonyou.reset(duplicate_answer=duplicate_answer)
    hook = YonyouHook()
    first = hook.create_voucher(claim("EXP-0009"))
    second = hook.create_voucher(claim("EXP-0009"))

    assert second.remote_id == first.remote_id and second.number == first.number
    assert [v["business_id"] for v in yonyou.state()["vouchers"]] == ["EXP-0009"]


def test_an_unknown_outcome_is_resolved_by_reading_the_erp(yonyou):
    yonyou.faults({"kind": "slow_commit", "every": 1, "limit": 1, "delay": 3.0, "paths": [f"*{ADD_VOUCHER}"]})
    hook = YonyouHook()
    with pytest.raises(OutcomeUnknownError):
        hook.create_voucher(claim("EXP-0010"))

    found = hook.find_voucher("EXP-0010", PERIOD)
    again = hook.create_voucher(claim("EXP-0010"))
    assert found is not None and again.remote_id == found.remote_id
    assert len(yonyou.state()["vouchers"]) == 1


def test_unbalanced_vouchers_are_refused(yonyou):
    with pytest.raises(ValueError, match="unbalanced"):
        Voucher(
            external_ref="EXP-X",
            company="0001",
            posting_date=dt.date(2025, 3, 1),
            period=PERIOD,
            description="x",
            lines=(
                VoucherLine("660201", debit=Decimal("10.00")),
                VoucherLine("224101", credit=Decimal("9.99")),
            ),
        )
    body = {
        "businessId": "EXP-X",
        "accbookCode": "0001",
        "voucherTypeCode": "1",
        "period": PERIOD,
        "makerMobile": "13800000000",
        "bodies": [
            {
                "description": "差旅费",
                "accsubjectCode": "660201",
                "debitOriginal": "10.00",
                "debitOrg": "10.00",
            },
            {
                "description": "差旅费",
                "accsubjectCode": "224101",
                "creditOriginal": "9.99",
                "creditOrg": "9.99",
            },
        ],
    }
    with pytest.raises(VendorRequestError) as refused:
        YonyouHook().request("POST", ADD_VOUCHER, json=body, idempotent=False)
    assert refused.value.code == "404" and "借贷不平衡" in refused.value.message
    assert yonyou.state()["vouchers"] == []


def test_a_non_leaf_account_is_refused(yonyou):
    voucher = Voucher(
        external_ref="EXP-L",
        company="0001",
        posting_date=dt.date(2025, 3, 1),
        period=PERIOD,
        description="x",
        lines=(VoucherLine("6602", debit=Decimal("1.00")), VoucherLine("224101", credit=Decimal("1.00"))),
    )
    with pytest.raises(VendorRequestError, match="不是末级科目"):
        YonyouHook().create_voucher(voucher)


# -- charts changed since ----------------------------------------------------------------------------
def test_chart_changed_since_returns_only_the_changed_records(yonyou):
    yonyou.mutate("rename_record", kind="accsubject", code="660202", name="办公费用")
    yonyou.mutate("add_record", kind="accsubject", code="660211", name="残疾人保障金", parent_code="6602")
    yonyou.mutate("add_record", kind="accsubject", code="66021001", name="房屋租赁费", parent_code="660210")
    yonyou.mutate(
        "add_record",
        kind="expenseitem",
        code="0105",
        name="签证费",
        parent_code="01",
        accsubject_code="660201",
    )
    yonyou.mutate("disable_record", kind="costcenter", code="CC0102")
    yonyou.mutate(
        "add_record",
        kind="project",
        code="PRJ20250099",
        name="共享中心二期工程",
        begindate="2025-01-01",
        enddate="2026-12-31",
    )
    hook = YonyouHook()
    since = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

    listed = {kind: list(hook.chart(kind, since=since)) for kind in ENTITIES}
    changed = {kind: canonical(kind, records) for kind, records in listed.items()}

    accounts = changed["gl_account"]
    assert set(accounts) == {"660202", "660211", "660210", "66021001"}  # 660210 is no longer a leaf
    assert accounts["660202"]["name"] == "办公费用" and accounts["660211"]["postable"]
    assert accounts["660210"]["postable"] is False and accounts["66021001"]["parent_code"] == "660210"
    assert set(changed["expense_item"]) == {"0105"} and changed["expense_item"]["0105"]["gl_account_code"] == "660201"
    assert [r["enable"] for r in listed["cost_center"]] == [2]
    assert set(changed["cost_center"]) == {"CC0102"} and changed["cost_center"]["CC0102"]["active"] is False
    project = changed["project"]["PRJ20250099"]
    assert [r["enddate"] for r in listed["project"]] == ["2026-12-31"]
    assert set(changed["project"]) == {"PRJ20250099"} and project["valid_to"] == dt.date(2026, 12, 31)
    assert all(hook.supports_changed_since(kind) for kind in changed)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert list(hook.chart("gl_account", since=later)) == []
    assert len(list(hook.chart("cost_center"))) == 40  # without since: everything, disabled included


# -- balances ----------------------------------------------------------------------------------------
def test_balances_equal_the_vouchers_to_the_cent(yonyou):
    hook = YonyouHook()
    hook.create_voucher(claim("EXP-B1", "1200.00", cost_center="CC0101"))
    hook.create_voucher(claim("EXP-B2", "345.67", cost_center="CC0102", project="PRJ20210001"))
    hook.create_voucher(claim("EXP-B3", "88.88", cost_center="CC0101"))
    voided = hook.create_voucher(claim("EXP-B4", "5000.00"))
    yonyou.mutate("void_voucher", voucher_id=voided.remote_id)
    hook.create_voucher(claim("EXP-B5", "7.00", period="2025-04"))
    audited = hook.find_voucher("EXP-B3", PERIOD)
    yonyou.mutate("audit_voucher", voucher_id=audited.remote_id)

    rows = {(b.account_code, b.cost_center, b.project): (b.debit, b.credit) for b in hook.balances("0001", PERIOD)}

    assert rows == {
        ("660201", "CC0101", None): (Decimal("1288.88"), Decimal("0.00")),
        ("660201", "CC0102", "PRJ20210001"): (Decimal("345.67"), Decimal("0.00")),
        ("224101", None, None): (Decimal("0.00"), Decimal("1634.55")),
    }
    assert all(isinstance(v, Decimal) for pair in rows.values() for v in pair)


# -- NC Cloud ----------------------------------------------------------------------------------------
def ncc_hook(monkeypatch, secret: str = ncc.CLIENT_SECRET, version: str = "2005") -> YonyouHook:
    return connect(
        monkeypatch,
        login=ncc.CLIENT_ID,
        password=secret,
        variant="ncc",
        tenant_id=None,
        ncc_public_key=ncc.app_public_key(),
        ncc_biz_center=ncc.BIZ_CENTER,
        ncc_version=version,
        ncc_maker_code="zhangkj",
    )


@pytest.mark.parametrize("version", ["2005", "legacy"])
def test_ncc_voucher_insert(yonyou, monkeypatch, version):
    yonyou.reset(ncc_version=version)
    hook = ncc_hook(monkeypatch, version=version)

    created = hook.create_voucher(claim("NCC-0001", "512.30", project="PRJ20210001"))
    assert (created.state, created.number, created.external_ref, created.period) == (
        "draft",
        "1",
        "NCC-0001",
        PERIOD,
    )
    assert hook.create_voucher(claim("NCC-0001", "512.30")).remote_id == created.remote_id
    yonyou.mutate("audit_voucher", voucher_id=created.remote_id)
    assert hook.voucher_status(created.remote_id).state == "audited"
    assert hook.find_voucher("NCC-0001", PERIOD).remote_id == created.remote_id

    vouchers = yonyou.state()["vouchers"]
    assert [(v["origin"], v["business_id"], v["total_debit"]) for v in vouchers] == [("ncc", "NCC-0001", "512.30")]
    assert yonyou.stats()["calls"].get("GET /open-auth/dataCenter/getGatewayAddress") is None
    assert not hook.supports_changed_since("gl_account")
    with pytest.raises(ConfigurationError, match="vouchers only"):
        next(hook.chart("gl_account"))
    with pytest.raises(ConfigurationError, match="vouchers only"):
        hook.balances("0001", PERIOD)


def test_ncc_token_refreshed_after_expiry(yonyou, monkeypatch):
    hook = ncc_hook(monkeypatch)
    created = hook.create_voucher(claim("NCC-0002"))
    yonyou.expire_tokens()
    assert hook.voucher_status(created.remote_id).remote_id == created.remote_id
    assert hook.stats["token_fetches"] == 2


def test_ncc_wrong_secret_is_an_authentication_error(yonyou, monkeypatch):
    with pytest.raises(AuthenticationError, match="Decryption error"):
        ncc_hook(monkeypatch, secret="wrong-secret").voucher_status("1")


# -- settings ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [{"no_such_setting": 1}, {"variant": "ncc"}, {"page_size": 5000}])
def test_invalid_extras_fail_loudly(yonyou, monkeypatch, extra):
    with pytest.raises(ConfigurationError, match="invalid extras"):
        _ = connect(monkeypatch, **extra).settings
