"""Yonyou's documented examples (``tests/fixtures/vendor_docs/yonyou``): the hook parses each one,
served verbatim from a local server at the network edge, and the sandbox answers the same endpoint
in the same shape. A documented answer with a field taken out fails naming that field."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from vendordocs import assert_same_shape, load, names, shape

from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.errors import ContractError
from expense_sync.hooks.yonyou import YonyouHook
from expense_sync.hooks.yonyou.masters import TAX_RATES, VENDOR_LIST, VENDOR_QUERY
from expense_sync.hooks.yonyou.pages import YonbipPaginator
from testkit import FAST, serve

Answer = Callable[[dict[str, Any]], Any]
ACCOUNTS = "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager"
MULTIDIMEXT = "/yonbip/fi/fipub/basedoc/querybd/multidimext"
ADD_VOUCHER = "/yonbip/fi/ficloud/openapi/voucher/addVoucher"
QUERY_VOUCHERS = "/yonbip/fi/ficloud/openapi/voucher/queryVouchers"
VOUCHER_BY_ID = "/yonbip/EFI/openapi/voucher/queryVoucherById"
PERIOD = "2025-03"


def documented(name: str) -> Any:
    return copy.deepcopy(load("yonyou", name)["response"])


def first_page_only(answer: dict[str, Any]) -> Answer:
    """The documented page for page 1, the same envelope with no records after it (the examples
    report more records than they show)."""

    def serve(body: dict[str, Any]) -> Any:
        index = (body.get("pager") or body).get("pageIndex", 1)
        if index == 1:
            return answer
        if isinstance(answer["data"], list):
            return {**answer, "data": []}
        return {**answer, "data": {**answer["data"], "pageIndex": index, "recordList": []}}

    return serve


class Edge:
    """YonBIP at the network edge: the documented token answer, and one answer per gateway path."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers, self.requests = answers, []
        app = FastAPI()

        @app.get("/{path:path}")
        async def token(path: str) -> JSONResponse:
            assert path.endswith("/getAccessToken"), path
            return JSONResponse(documented("token"))

        @app.post("/{path:path}")
        async def gateway(path: str, request: Request) -> JSONResponse:
            body = json.loads(await request.body() or b"{}")
            self.requests.append((f"/{path}", body))
            return JSONResponse(self.answers[f"/{path}"](body))

        self.url, self.server, self.thread = serve(app)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def edge(monkeypatch) -> Iterator[Callable[..., YonyouHook]]:
    """``edge(answers, **extras)``: a hook whose gateway is an :class:`Edge` serving ``answers``."""
    started: list[Edge] = []

    def connect(answers: dict[str, Answer], **extra: Any) -> YonyouHook:
        server = Edge(answers)
        started.append(server)
        conn = {
            "conn_type": "http",
            "host": server.url,
            "login": "fbb5f5b6-21fb-4156-8b73-3ec3ac389ab7",
            "password": "app-secret",
            "extra": {**FAST, "maker_mobile": "18510047432", **extra},
        }
        monkeypatch.setenv("AIRFLOW_CONN_ERP_YONYOU", json.dumps(conn))
        return YonyouHook()

    yield connect
    for server in started:
        server.close()


def claim(ref: str = "EXP-D1") -> Voucher:
    return Voucher(
        external_ref=ref,
        company="dxbook003",
        posting_date=dt.date(2021, 8, 25),
        period="2021-08",
        description="差旅报销",
        lines=(
            VoucherLine("660201", debit=Decimal("12.00"), text="差旅费"),
            VoucherLine("224101", credit=Decimal("12.00"), text="应付报销款"),
        ),
    )


def test_every_fixture_names_its_vendor_source():
    found = names("yonyou")
    assert found == [
        "accsubject_page",
        "add_voucher",
        "multidimext",
        "query_vouchers",
        "taxrate_find_by_time",
        "token",
        "vendor_list_v3",
        "voucher_by_id",
    ]
    for name in found:
        doc = load("yonyou", name)
        assert "yonyou" in doc["source"] and doc["endpoint"].split(" ")[0] in ("GET", "POST")


# -- the hook parses each documented answer --------------------------------------------------------
def test_the_documented_token_answer(edge):
    hook = edge({})
    assert hook.get_token() == "2215d3c77b684876980ff15f9a0df6c7"


def test_the_documented_accounts_page(edge):
    page = documented("accsubject_page")
    hook = edge({ACCOUNTS: first_page_only(page)})
    paginator = YonbipPaginator(endpoint=f"POST {ACCOUNTS}", size=20)

    listed = [r for p in hook.paginate("POST", ACCOUNTS, paginator, json={}, paging_in="json") for r in p]

    assert listed == page["data"]["recordList"]
    # The documented record shows id, code, name, mnemoniccode only: what we read beyond it is
    # checked, never defaulted.
    with pytest.raises(ContractError, match="'parent_code'"):
        list(hook.chart("gl_account"))


def test_the_documented_auxiliary_types_answer(edge):
    hook = edge({MULTIDIMEXT: first_page_only(documented("multidimext"))})

    problems = hook.prerequisites()

    assert problems == [
        "auxiliary accounting type '0010' (cost_center_aux_code) is not among the tenant's types "
        "(querybd/multidimext: 7897 项目类型)",
        "auxiliary accounting type '0006' (project_aux_code) is not among the tenant's types "
        "(querybd/multidimext: 7897 项目类型)",
    ]
    assert (
        edge(
            {MULTIDIMEXT: first_page_only(documented("multidimext"))},
            project_aux_code="7897",
            cost_center_aux_code="7897",
        ).prerequisites()
        == []
    )


def test_the_documented_voucher_save_answer(edge):
    hook = edge({ADD_VOUCHER: lambda body: documented("add_voucher")})

    saved = hook.create_voucher(claim())

    assert (saved.remote_id, saved.number, saved.state, saved.raw_state) == (
        "2A4556F6-1AD0-47BA-9378-572B9B57D2FD",
        "14",
        "draft",
        "01",
    )
    assert (saved.period, saved.external_ref) == ("2021-08", "EXP-D1")


def test_the_documented_voucher_list(edge):
    hook = edge({QUERY_VOUCHERS: first_page_only(documented("query_vouchers"))}, cost_center_aux_code="cf001")

    [balance] = hook.balances("dxbook003", "2021-08")
    [listed] = hook.period_vouchers("dxbook003", "2021-08")

    assert (balance.account_code, balance.cost_center, balance.project) == ("100217", "xjxm01", None)
    assert (balance.debit, balance.credit) == (Decimal("13.10"), Decimal("0.00"))
    assert (listed.remote_id, listed.number, listed.state, listed.period) == (
        "42718613-1E21-4512-98C8-CC52FBD700FB",
        "32",
        "draft",
        "2021-08",
    )
    assert listed.external_ref is None  # documented as "" for a voucher keyed in by hand


def test_the_documented_voucher_detail(edge):
    hook = edge({VOUCHER_BY_ID: lambda body: documented("voucher_by_id")})

    status = hook.voucher_status("1674770115738468360")

    assert (status.remote_id, status.number, status.state, status.raw_state, status.period) == (
        "1674770115738468360",
        "1",
        "posted",
        "04",
        "2023-03",
    )


# -- a field taken out of a documented answer fails naming it ----------------------------------------
@pytest.mark.parametrize("field", ["debit_org", "credit_org", "clientauxiliary"])
def test_a_ledger_line_without_its_amount_or_dimensions_fails_naming_the_field(edge, field):
    answer = documented("query_vouchers")
    del answer["data"]["recordList"][0]["body"][0][field]
    hook = edge({QUERY_VOUCHERS: first_page_only(answer)})

    with pytest.raises(ContractError, match=f"no field '{field}'") as failed:
        hook.balances("dxbook003", "2021-08")
    assert failed.value.endpoint == f"POST {QUERY_VOUCHERS}"


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        (lambda a: a["data"]["recordList"][0]["header"].pop("externalSourceDataId"), "'externalSourceDataId'"),
        (lambda a: a["data"].pop("recordCount"), "'recordCount'"),
        (lambda a: a.pop("data"), "'data'"),
    ],
)
def test_a_voucher_list_without_a_field_we_read_fails_naming_it(edge, remove, named):
    answer = documented("query_vouchers")
    remove(answer)
    hook = edge({QUERY_VOUCHERS: first_page_only(answer) if "data" in answer else lambda body: answer})

    with pytest.raises(ContractError, match=named):
        hook.period_vouchers("dxbook003", "2021-08")


def test_a_voucher_detail_without_its_period_fails_naming_it(edge):
    answer = documented("voucher_by_id")
    del answer["data"]["periodUnion"]
    hook = edge({VOUCHER_BY_ID: lambda body: answer})

    with pytest.raises(ContractError, match="'periodUnion'"):
        hook.voucher_status("1674770115738468360")


# -- the sandbox answers in the documented shapes ----------------------------------------------------
def sandbox_answers(hook: YonyouHook) -> dict[str, Any]:
    """Each documented endpoint called on the sandbox as plain HTTP (the JSON as it came)."""
    from expense_sync.hooks.yonyou.ledger import add_voucher_body
    from expense_sync.hooks.yonyou.wire import TOKEN_PATH, signature

    created = hook.create_voucher(voucher("EXP-S1", cost_center="CC0101"))
    login, secret = hook.connection.login, hook.connection.password
    stamp = str(int(time.time() * 1000))
    token = requests.get(
        f"{hook.endpoints[1]}{TOKEN_PATH}",
        params={"appKey": login, "timestamp": stamp, "signature": signature(login, secret, stamp)},
        timeout=10,
    ).json()

    def post(path: str, body: dict[str, Any]) -> Any:
        url = f"{hook.endpoints[0]}{path}"
        return requests.post(url, params={"access_token": hook.get_token()}, json=body, timeout=10).json()

    return {
        "token": token,
        "accsubject_page": post(ACCOUNTS, {"pageIndex": 1, "pageSize": 20}),
        "multidimext": post(MULTIDIMEXT, {"fields": ["id", "code", "name"], "pageIndex": 1, "pageSize": 1000}),
        "add_voucher": post(ADD_VOUCHER, add_voucher_body(voucher("EXP-S2", project="PRJ20210001"), hook.settings)),
        "query_vouchers": post(QUERY_VOUCHERS, {"accbookCode": "0001", "periodStart": PERIOD, "periodEnd": PERIOD}),
        "voucher_by_id": post(VOUCHER_BY_ID, {"voucherId": created.remote_id}),
        "vendor_list_v3": post(VENDOR_LIST, {**VENDOR_QUERY, "pageIndex": 1, "pageSize": 10}),
        "taxrate_find_by_time": requests.get(
            f"{hook.endpoints[0]}{TAX_RATES}", params={"access_token": hook.get_token()}, timeout=10
        ).json(),
    }


def voucher(ref: str, **dimensions: str) -> Voucher:
    return Voucher(
        external_ref=ref,
        company="0001",
        posting_date=dt.date(2025, 3, 15),
        period=PERIOD,
        description="差旅报销",
        lines=(
            VoucherLine("660201", debit=Decimal("12.00"), text="差旅费", **dimensions),
            VoucherLine("224101", credit=Decimal("12.00"), text="应付报销款"),
        ),
    )


# queryVoucherById's and queryVouchers' documented examples carry some 150 fields the sandbox does
# not model (the auxiliary slots vr1…vr200, group, global and organisation amounts, cash flow): their
# shape is checked on the paths the hook reads.
READ_PATHS = {
    # the documented supplier shows every optional field of the archive (contacts, addresses,
    # qualifications, registration): checked on the paths the hook reads
    "vendor_list_v3": [
        "$.code",
        "$.data.recordCount",
        "$.data.recordList[].id",
        "$.data.recordList[].code",
        "$.data.recordList[].name",
        "$.data.recordList[].creditcode",
        "$.data.recordList[].vendorbanks[].account",
        "$.data.recordList[].vendorbanks[].defaultbank",
        "$.data.recordList[].vendorextendList[].freezestatus",
    ],
    "voucher_by_id": [
        "$.code",
        "$.data.id",
        "$.data.billCode",
        "$.data.voucherStatus",
        "$.data.externalSourceDataId",
        "$.data.periodUnion",
    ],
    "query_vouchers": [
        "$.code",
        "$.data.recordCount",
        "$.data.recordList[].header.id",
        "$.data.recordList[].header.billcode",
        "$.data.recordList[].header.voucherstatus",
        "$.data.recordList[].header.period",
        "$.data.recordList[].header.externalSourceDataId",
        "$.data.recordList[].body[].accsubject.code",
        "$.data.recordList[].body[].debit_org",
        "$.data.recordList[].body[].credit_org",
        "$.data.recordList[].body[].clientauxiliary[].code",
        "$.data.recordList[].body[].clientauxiliary[].data.code",
    ],
}


@pytest.mark.parametrize("name", names("yonyou"))
def test_the_sandbox_answers_in_the_documented_shape(sandboxes, name):
    doc, produced = documented(name), sandbox_answers(YonyouHook())[name]
    where = f"sandbox {load('yonyou', name)['endpoint']}"
    if name in READ_PATHS:
        want, got = shape(doc), shape(produced)
        assert set(READ_PATHS[name]) <= set(want), "a read path the example does not show"
        kinds = {p: (want[p], got.get(p, "missing")) for p in READ_PATHS[name]}
        assert {p: k for p, k in kinds.items() if k[1] == "missing" or "null" not in k and k[0] != k[1]} == {}, where
        return
    assert_same_shape(doc, produced, where=where)
