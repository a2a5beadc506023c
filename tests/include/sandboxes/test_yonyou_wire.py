"""The Yonyou sandbox answers raw requests (plain ``requests``, no hook) with the documented shapes.

There is no official Yonyou Python SDK (docs/vendors/research.md §9), so these requests are built by hand the way
the vendor's docs and the probe log of docs/vendors/research.md §5.1 do, and the answers are compared with the
probed bodies exactly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from expense_sync_sandboxes.yonyou import APP_KEY, APP_SECRET, TENANT_ID, ncc

GATEWAY = "/iuap-api-gateway"
VOUCHER = {
    "accbookCode": "0001",
    "voucherTypeCode": "1",
    "period": "2025-03",
    "makerMobile": "13800000000",
    "makeTime": "2025-03-11",
    "description": "差旅报销",
    "businessId": "EXP-20250311-0001",
    "bodies": [
        {"description": "差旅费", "accsubjectCode": "660201", "debitOriginal": 12.10, "debitOrg": 12.10},
        {"description": "差旅费", "accsubjectCode": "224101", "creditOriginal": 12.10, "creditOrg": 12.10},
    ],
}


@pytest.fixture
def base(sandboxes) -> str:
    return sandboxes.url("yonyou")


def signature(stamp: str, secret: str = APP_SECRET) -> str:
    """The docs' five steps: sort, concatenate name+value, HMAC-SHA256, Base64, URL-encode once."""
    digest = hmac.new(secret.encode(), f"appKey{APP_KEY}timestamp{stamp}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


def token_url(base: str, path: str = "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken") -> str:
    stamp = str(int(time.time() * 1000))
    return f"{base}{path}?appKey={APP_KEY}&timestamp={stamp}&signature={signature(stamp)}"


def token(base: str) -> str:
    return requests.get(token_url(base), timeout=10).json()["data"]["access_token"]


def post(base: str, path: str, body: dict, access_token: str | None) -> requests.Response:
    query = "" if access_token is None else f"?access_token={quote(access_token, safe='')}"
    return requests.post(f"{base}{GATEWAY}{path}{query}", json=body, timeout=10)


def test_data_centre_discovery(base):
    good = requests.get(f"{base}/open-auth/dataCenter/getGatewayAddress?tenantId={TENANT_ID}", timeout=10)
    assert good.json() == {
        "code": "00000",
        "message": "成功！",
        "data": {"gatewayUrl": f"{base}{GATEWAY}", "tokenUrl": f"{base}/iuap-api-auth"},
    }
    bad = requests.get(f"{base}/open-auth/dataCenter/getGatewayAddress?tenantId=test", timeout=10)
    assert (bad.status_code, bad.json()) == (
        200,
        {"code": "500", "message": "根据租户id获取网关地址出现异常"},
    )


def test_token_with_a_hand_made_signature(base):
    for path in (
        "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken",
        "/open-auth/selfAppAuth/getAccessToken",  # the old path still answers
        "/iuap-api-gateway/open-auth/selfAppAuth/getAccessToken",  # as on the dbox gateway
    ):
        answer = requests.get(token_url(base, path), timeout=10).json()
        assert answer["code"] == "00000" and answer["message"] == "成功！"
        assert set(answer["data"]) == {"access_token", "expire"} and answer["data"]["expire"] == 7200

    stamp = str(int(time.time() * 1000))
    auth = f"{base}/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"
    unknown = requests.get(f"{auth}?appKey=test&timestamp={stamp}&signature={signature(stamp)}", timeout=10)
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"code": "10018", "message": "应用不存在或appKey已停用"},
    )
    twice = quote(signature(stamp), safe="")  # encoded twice: the server sees the once-encoded text
    refused = requests.get(f"{auth}?appKey={APP_KEY}&timestamp={stamp}&signature={twice}", timeout=10).json()
    assert refused["code"] == "10016"
    wrong = requests.get(
        f"{auth}?appKey={APP_KEY}&timestamp={stamp}&signature={signature(stamp, 'x')}", timeout=10
    ).json()
    assert wrong["code"] == "10016"


def test_gateway_errors_are_the_probed_bodies(base):
    vouchers = "/yonbip/fi/ficloud/openapi/voucher/queryVouchers"
    missing = post(base, vouchers, {"accbookCode": "0001"}, None)
    assert (missing.status_code, missing.json()) == (
        200,
        {"code": "310001", "message": "access_token不能为空。"},
    )
    fake = post(base, vouchers, {"accbookCode": "0001"}, "test")
    assert (fake.status_code, fake.json()) == (200, {"code": "310036", "message": "非法token"})

    access = token(base)
    other_tenant = requests.post(
        f"{base}{GATEWAY}{vouchers}?access_token={quote(access, safe='')}&tenantId=another",
        json={},
        timeout=10,
    )
    assert other_tenant.json() == {"code": "310005", "message": "应用不存在"}
    same_tenant = requests.post(
        f"{base}{GATEWAY}{vouchers}?access_token={quote(access, safe='')}&tenantId={TENANT_ID}",
        json={"accbookCode": "0001"},
        timeout=10,
    )
    assert same_tenant.json()["code"] == "200"

    plain = post(base, "/yonbip/fi/fipub/basedoc/querybd/accperiod", {}, "test")
    assert plain.status_code == 200 and plain.text == "非法token"
    assert plain.headers["content-type"].startswith("text/plain")

    for path in ("/yonbip/skillify/not/exist", "/yonsuite/fi/fipub/basedoc/querybd/accperiod"):
        unknown = post(base, path, {}, "test")  # the path is checked before the token
        assert unknown.status_code == 404
        assert unknown.json() == {
            "code": "310404",
            "message": f"网关上没有注册此API[{path}]，请确认后重新调用",
        }


def test_the_chart_is_deterministic_per_seed(sandboxes, base):
    control = sandboxes.control("yonyou")

    def chart(seed: int) -> list[dict]:
        control.reset(seed=seed, accounts=80)
        body = {"pageIndex": 1, "pageSize": 100}
        return post(base, "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager", body, token(base)).json()["data"][
            "recordList"
        ]

    first, again, other = chart(5), chart(5), chart(6)
    assert first == again and len(first) == 80
    assert [r["ts"] for r in first] != [r["ts"] for r in other]
    assert [r["code"] for r in first] == [r["code"] for r in other]  # sizes decide the codes, seeds the times
    grown = {r["code"]: r for r in first}["66010101"]
    assert (grown["name"], grown["parent_code"], grown["isEnd"]) == ("差旅费-北京", "660101", True)


def test_archive_query_shapes(base):
    access = token(base)
    books = post(base, "/yonbip/fi/fipub/basedoc/querybd/accbook", {"fields": ["id", "code", "name"]}, access)
    answer = books.json()
    assert answer["code"] == 200 and answer["success"] is True and answer["message"] == "查询成功！"
    assert answer["total"] == 2 and answer["data"][0] == {
        "id": "1971500567562289169",
        "code": "0001",
        "name": "示例集团本部",
    }
    wrong = post(base, "/yonbip/fi/fipub/basedoc/querybd/accbook", {"fields": "id,code"}, access).json()
    assert wrong["code"] == "999"

    pager = post(
        base,
        "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager",
        {
            "fields": ["id", "code", "name", "multidimension", "mnemoniccode"],
            "pageIndex": 1,
            "pageSize": 20,
            "conditions": [{"value": "2019-10-23 14:00:37", "field": "ts", "operator": ">="}],
        },
        access,
    ).json()
    assert (pager["code"], pager["message"]) == ("200", "查询成功！")
    assert set(pager["data"]) == {
        "pageIndex",
        "pageSize",
        "recordCount",
        "recordList",
        "pageCount",
        "beginPageIndex",
        "endPageIndex",
    }
    assert pager["data"]["recordCount"] == 59 and pager["data"]["pageCount"] == 3  # with 224103 预提费用
    assert set(pager["data"]["recordList"][0]) == {"id", "code", "name", "multidimension", "mnemoniccode"}


def test_voucher_and_report_shapes(base):
    access = token(base)
    add = "/yonbip/fi/ficloud/openapi/voucher/addVoucher"
    no_book = post(base, add, {**VOUCHER, "accbookCode": ""}, access).json()
    assert no_book == {"code": "404", "message": "凭证保存不成功,账簿code不能为空！", "data": {}}

    saved = post(base, add, VOUCHER, access)
    data = saved.json()["data"]
    assert saved.json()["code"] == "200" and saved.json()["message"] == "OK"
    assert (data["voucherStatus"], data["period"], data["billCode"]) == ("01", "2025-03", 1)
    assert '"totalDebitOrg":12.10' in saved.text  # an exact JSON number, not a string or a float's digits
    assert post(base, add, VOUCHER, access).json()["code"] == "310504"  # the same businessId

    listing = post(
        base,
        "/yonbip/fi/ficloud/openapi/voucher/queryVouchers",
        {"accbookCode": "0001", "pager": {"pageIndex": 1, "pageSize": 20}, "periodStart": "2025-03"},
        access,
    ).json()
    record = listing["data"]["recordList"][0]
    assert listing["data"]["recordCount"] == 1
    assert set(record) == {
        "header",
        "body",
        "externalMainMarking",
        "externalSystemType",
        "externalIntegrationStatus",
    }
    assert (record["header"]["billcode"], record["header"]["voucherstatus"]) == (1, "01")
    assert record["header"]["displayname"] == "记-1" and record["header"]["maker"]["name"] == "张会计"
    no_book_list = post(base, "/yonbip/fi/ficloud/openapi/voucher/queryVouchers", {}, access).json()
    assert no_book_list == {"code": "404", "message": "账簿code不能为空！", "data": {}}

    by_id = "/yonbip/EFI/openapi/voucher/queryVoucherById"
    detail = post(base, by_id, {"voucherId": data["voucherId"]}, access).json()["data"]
    assert (detail["billCode"], detail["voucherStatus"], detail["periodUnion"]) == (1, "01", "2025-03")
    missing = post(base, by_id, {"voucherId": "1674770115738468360"}, access).json()
    assert missing == {"code": "404", "message": "凭证不存在！", "data": {}}

    report = post(base, "/yonbip/fi/rpt/balance", {"accbook": "1971500567562289169", "period": "2025-03"}, access)
    body = json.loads(report.text, parse_float=Decimal)
    assert body["code"] == "200" and set(body["data"]) == {"accCode", "accName", "items"}
    assert body["data"]["accCode"] == "0001"
    item = {"code": "660201", "name": "差旅费", "BEGINNING": Decimal("0.00"), "TERMINAL": Decimal("12.10")}
    assert item in body["data"]["items"]
    unknown = post(base, "/yonbip/fi/rpt/profit", {"accbook": "1971500567562289169", "period": "1999-01"}, access)
    assert unknown.json() == {"code": 0, "message": "period not exist!", "data": None}


def test_ncc_token_and_insert_by_hand(base):
    """NCC ≥ 2005 as the public write-up builds it: parameters in the query string, OAEP secret."""
    public = ncc.app_public_key()
    key = serialization.load_der_public_key(base64.b64decode(public))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    secret = base64.b64encode(key.encrypt(ncc.CLIENT_SECRET.encode(), oaep)).decode()
    seed, state, salt = public.encode(), hashlib.sha1(public.encode()).digest(), b""
    while len(salt) < 16:
        salt += hashlib.sha1(state).digest()
        state = hashlib.sha1(state + seed).digest()
    data = ncc.CLIENT_ID + ncc.CLIENT_SECRET + public + base64.b64encode(salt[:16]).decode()
    sig = hashlib.sha256(data.encode()).hexdigest()
    query = (
        f"grant_type=client_credentials&biz_center={ncc.BIZ_CENTER}&client_id={ncc.CLIENT_ID}&signature={sig}"
        f"&client_secret={secret.replace('+', '%2B').replace('/', '%2F')}&dsname=NCC"
    )
    answer = requests.post(
        f"{base}/nccloud/opm/accesstoken?{query}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    ).json()
    assert answer["success"] is True
    assert {"access_token", "refresh_token", "security_key", "expires_in"} <= set(answer["data"])

    body = json.dumps(
        {
            "accbookCode": "0001",
            "prepareddate": "2025-03-11",
            "year": "2025",
            "period": "03",
            "vouchertype": "1",
            "prepared": "zhangkj",
            "num": 0,
            "detail": [
                {
                    "detailindex": 1,
                    "explanation": "差旅费",
                    "accountCode": "660201",
                    "currtypeCode": "CNY",
                    "amount": 50,
                    "localdebitamount": 50,
                    "localcreditamount": 0,
                    "busidate": "2025-03-11",
                },
                {
                    "detailindex": 2,
                    "explanation": "差旅费",
                    "accountCode": "224101",
                    "currtypeCode": "CNY",
                    "amount": 50,
                    "localdebitamount": 0,
                    "localcreditamount": 50,
                    "busidate": "2025-03-11",
                },
            ],
        },
        ensure_ascii=False,
    )
    headers = {
        "content-type": "application/json;charset=utf-8",
        "access_token": answer["data"]["access_token"],
        "client_id": ncc.CLIENT_ID,
        "ucg_flag": "y",
        "signature": hashlib.sha256((ncc.CLIENT_ID + body + public).encode()).hexdigest(),
    }
    insert = f"{base}/nccloud/api/gl/voucher/insert"
    saved = requests.post(insert, data=body.encode(), headers=headers, timeout=10).json()
    assert saved["success"] is True and saved["data"]["num"] == 1 and saved["data"]["pk_voucher"]
    upper = requests.post(insert, data=body.encode(), headers={**headers, "ucg_flag": "Y"}, timeout=10)
    assert upper.status_code == 400
