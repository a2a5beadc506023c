"""Kingdee's own Python SDK (kingdee.cdp.webapi.sdk, module ``k3cloud_webapi_sdk``) against the K3Cloud
sandbox, unchanged but for its server URL; and the Java SDK's positional body style, by hand."""

import json

import pytest
import requests
from k3cloud_webapi_sdk.main import K3CloudApiSdk

from expense_sync_sandboxes.kingdee import ACCT_ID, APP_ID, APP_SECRET, USER_NAME
from expense_sync_sandboxes.kingdee.chart import ACCOUNTS

SERVICES = "Kingdee.BOS.WebApi.ServicesStub"

VOUCHER = {
    "NeedUpDateFields": [],
    "NeedReturnFields": ["FBillNo", "FVOUCHERGROUPNO"],
    "IsDeleteEntry": "true",
    "Model": {
        "FVOUCHERID": 0,
        "FAccountBookID": {"FNumber": "001"},
        "FDate": "2025-06-30",
        "FVOUCHERGROUPID": {"FNumber": "PRE001"},
        "FVOUCHERGROUPNO": "",
        "FDocumentStatus": "A",
        "FEntity": [
            {
                "FEXPLANATION": "计提6月房租",
                "FACCOUNTID": {"FNumber": "6602.09"},
                "FDetailID": {"FDETAILID__FFLEX5": {"FNumber": "BM000010"}},
                "FCURRENCYID": {"FNumber": "PRE001"},
                "FEXCHANGERATETYPE": {"FNumber": "HLTX01_SYS"},
                "FEXCHANGERATE": 1,
                "FDEBIT": 35000.00,
                "FCREDIT": 0,
            },
            {"FEXPLANATION": "计提6月房租", "FACCOUNTID": {"FNumber": "2241.02"}, "FDEBIT": 0, "FCREDIT": 35000.00},
        ],
    },
}


@pytest.fixture
def server_url(sandboxes):
    return f"{sandboxes.url('kingdee')}/k3cloud/"


@pytest.fixture
def sdk(server_url):
    client = K3CloudApiSdk(server_url)
    client.InitConfig(ACCT_ID, USER_NAME, APP_ID, APP_SECRET, server_url, lcid=2052, org_num=100)
    return client


def test_the_sdk_queries_the_chart_with_its_signed_headers(sdk):
    rows = json.loads(
        sdk.ExecuteBillQuery(
            {
                "FormId": "BD_Account",
                "FieldKeys": "FNumber,FName,FParentID.FNumber,FIsDetail",
                "FilterString": "FNumber like '6602%'",
                "OrderString": "FNumber ASC",
                "StartRow": 0,
                "Limit": 5,
            }
        )
    )
    assert rows[0] == ["6602", "管理费用", None, False]
    assert rows[1] == ["6602.01", "差旅费", "6602", True]
    assert len(rows) == 5
    assert sdk.cookiesStore.SID  # the session came back as the kdservice-sessionid cookie


def test_the_sdk_saves_and_views_a_voucher(sdk, sandboxes):
    saved = json.loads(sdk.Save("GL_VOUCHER", VOUCHER))["Result"]
    assert saved["ResponseStatus"]["IsSuccess"] is True
    voucher_id = saved["ResponseStatus"]["SuccessEntitys"][0]["Id"]
    assert saved["NeedReturnData"] == [{"FBillNo": saved["Number"], "FVOUCHERGROUPNO": 1}]

    viewed = json.loads(sdk.View("GL_VOUCHER", {"Id": voucher_id}))["Result"]["Result"]
    assert (viewed["Id"], viewed["DocumentStatus"], viewed["VOUCHERGROUPNO"]) == (voucher_id, "A", 1)
    assert viewed["AccountBookID"]["Number"] == "001"
    assert [(e["ACCOUNTID"]["Number"], e["DEBIT"], e["CREDIT"]) for e in viewed["Entity"]] == [
        ("6602.09", 35000.0, 0.0),
        ("2241.02", 0.0, 35000.0),
    ]

    assert json.loads(sdk.Submit("GL_VOUCHER", {"Ids": str(voucher_id)}))["Result"]["ResponseStatus"]["IsSuccess"]
    assert json.loads(sdk.Audit("GL_VOUCHER", {"Ids": str(voucher_id)}))["Result"]["ResponseStatus"]["IsSuccess"]
    rows = json.loads(
        sdk.ExecuteBillQuery(
            {"FormId": "GL_VOUCHER", "FieldKeys": "FBillNo,FDocumentStatus,FDEBIT", "FilterString": "FYEAR=2025"}
        )
    )
    assert rows == [[saved["Number"], "C", 35000.0], [saved["Number"], "C", 0.0]]


def test_the_sdk_keeps_working_when_its_session_expires(sdk, sandboxes):
    query = {"FormId": "BD_Expense", "FieldKeys": "FNumber"}
    first = json.loads(sdk.ExecuteBillQuery(query))
    sandboxes.control("kingdee").expire_tokens()
    assert json.loads(sdk.ExecuteBillQuery(query)) == first  # every SDK request is signed: no login needed


def test_a_wrong_app_secret_fails_the_signature(server_url):
    client = K3CloudApiSdk(server_url)
    client.InitConfig(ACCT_ID, USER_NAME, APP_ID, "not-the-secret", server_url)
    answer = json.loads(client.Save("GL_VOUCHER", VOUCHER))
    status = answer["Result"]["ResponseStatus"]
    assert status["IsSuccess"] is False and "签名" in status["Errors"][0]["Message"]


def test_an_unknown_form_is_refused_inside_an_http_200(sdk):
    answer = json.loads(sdk.ExecuteBillQuery({"FormId": "BD_NoSuchForm", "FieldKeys": "FNumber"}))
    assert answer[0][0]["Result"]["ResponseStatus"]["Errors"][0]["Message"] == "业务对象不存在"


def test_the_positional_body_of_the_java_sdk_with_a_password_login(server_url):
    http = requests.Session()
    login = http.post(
        f"{server_url}{SERVICES}.AuthService.ValidateUser.common.kdsvc",
        json={"parameters": [ACCT_ID, USER_NAME, "kd-sandbox-password", 2052]},
    ).json()
    assert login["LoginResultType"] == 1 and http.cookies.get("kdservice-sessionid") == login["KDSVCSessionId"]
    query = {"FormId": "BD_Account", "FieldKeys": "FNumber", "TopRowCount": 0, "Limit": 0}
    rows = http.post(
        f"{server_url}{SERVICES}.DynamicFormService.ExecuteBillQuery.common.kdsvc",
        json={"parameters": [json.dumps(query)]},
    ).json()
    assert len(rows) == len(ACCOUNTS)
    saved = http.post(
        f"{server_url}{SERVICES}.DynamicFormService.Save.common.kdsvc",
        json={"parameters": ["GL_VOUCHER", json.dumps(VOUCHER)]},
    ).json()
    assert saved["Result"]["ResponseStatus"]["IsSuccess"] is True
    http.cookies.clear()
    lost = http.post(
        f"{server_url}{SERVICES}.DynamicFormService.Save.common.kdsvc",
        json={"parameters": ["GL_VOUCHER", json.dumps(VOUCHER)]},
    )
    assert lost.status_code == 200
    assert lost.json()["Result"]["ResponseStatus"]["MsgCode"] == 1
