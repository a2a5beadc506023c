"""Test senders: deliveries built the way each vendor builds them, with independent code.

DingTalk deliveries are sealed with dingtalk-sdk's crypto, WeCom ones with wechatpy's, Standard
Webhooks ones with the standardwebhooks library (and once by hand with hmac), 合思 ones are plain
JSON. None of this uses the receiver's own crypto. The secrets are test values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
import xmltodict
from dingtalk.crypto import DingTalkCrypto
from standardwebhooks.webhooks import Webhook
from wechatpy.crypto import _get_signature as wechat_signature
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto

EKUAIBAO_SIGN_KEY = "sk-test-0c5e1d2f-ekuaibao"  # 合思 never sends it: a message carrying it is not trusted more
EKUAIBAO_PATH_TOKEN = "pt-test-6f1e0b9a7c2d4e85"
EKUAIBAO_PATH = f"/expense-sync/webhooks/ekuaibao/{EKUAIBAO_PATH_TOKEN}"
DINGTALK_APP_KEY = "dingtestappkey0001"
DINGTALK_TOKEN = "dt-callback-token"
DINGTALK_AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
WECOM_CORP_ID = "wwtestcorp0001"
WECOM_TOKEN = "wecom-callback-token"
WECOM_AES_KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
STANDARD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-test-secret-1").decode()
STANDARD_OLD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-old-secret-00").decode()
ALL_SECRETS = (
    EKUAIBAO_SIGN_KEY,
    EKUAIBAO_PATH_TOKEN,
    DINGTALK_TOKEN,
    DINGTALK_AES_KEY,
    WECOM_TOKEN,
    WECOM_AES_KEY,
    STANDARD_SECRET,
    STANDARD_OLD_SECRET,
)
TOLERANCE = 300


@dataclass
class Delivery:
    """One HTTP request to the receiver."""

    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def send(self, base_url: str, session: requests.Session | None = None) -> requests.Response:
        http = session or requests
        return http.request(
            self.method, f"{base_url}{self.path}", data=self.body, headers=self.headers, params=self.params, timeout=30
        )


def now_ms() -> int:
    return int(time.time() * 1000)


# -- 合思 -----------------------------------------------------------------------------------------
def ekuaibao_message(
    flow_id: str = "ID01flow", node_id: str = "FLOW:251847192:631543649", action: str = "flow.paid", **fields: Any
) -> dict[str, Any]:
    return {
        "flowId": flow_id,
        "nodeId": node_id,
        "action": action,
        "actionName": "已支付",
        "state": "paid",
        "userInfo": {"id": "u1", "name": "张三"},
        **fields,
    }


def ekuaibao(
    message: dict[str, Any], *, token: str | None = EKUAIBAO_PATH_TOKEN, content_type: str = "application/json"
) -> Delivery:
    """A message as 合思 posts it: plain JSON, no signature, to the configured 调用Url (the secret
    path token; ``None``: the bare path)."""
    path = "/expense-sync/webhooks/ekuaibao" + (f"/{token}" if token is not None else "")
    body = json.dumps(message, ensure_ascii=False).encode()
    return Delivery("POST", path, body, {"Content-Type": content_type})


# -- DingTalk -------------------------------------------------------------------------------------
def dingtalk_crypto(owner_key: str = DINGTALK_APP_KEY) -> DingTalkCrypto:
    return DingTalkCrypto(DINGTALK_TOKEN, DINGTALK_AES_KEY, owner_key)


def dingtalk_event(instance: str = "proc-0001", kind: str = "finish", **fields: Any) -> dict[str, Any]:
    return {
        "EventType": "bpms_instance_change",
        "processInstanceId": instance,
        "corpId": "dingcorp01",
        "createTime": 1700000000000,
        "finishTime": 1700000500000,
        "type": kind,
        "result": "agree",
        "title": "差旅报销",
        "staffId": "u1",
        **fields,
    }


def dingtalk(
    event: dict[str, Any],
    *,
    timestamp: int | None = None,
    nonce: str = "nEXhMP4r",
    owner_key: str = DINGTALK_APP_KEY,
    signature_param: str = "msg_signature",
) -> Delivery:
    timestamp = now_ms() if timestamp is None else timestamp
    sealed = dingtalk_crypto(owner_key).encrypt_message(
        json.dumps(event, ensure_ascii=False), nonce=nonce, timestamp=timestamp
    )
    return Delivery(
        "POST",
        "/expense-sync/webhooks/dingtalk",
        json.dumps({"encrypt": sealed["encrypt"]}).encode(),
        {"Content-Type": "application/json"},
        {signature_param: sealed["msg_signature"], "timestamp": str(timestamp), "nonce": nonce},
    )


def dingtalk_reply_text(reply: dict[str, Any]) -> str:
    """Open the receiver's encrypted answer with the SDK (it must say ``success``)."""
    return dingtalk_crypto().decrypt_encrypt_str(
        reply["msg_signature"], reply["timeStamp"], reply["nonce"], reply["encrypt"]
    )


# -- WeCom ----------------------------------------------------------------------------------------
def wecom_crypto(corp_id: str = WECOM_CORP_ID) -> WeChatCrypto:
    return WeChatCrypto(WECOM_TOKEN, WECOM_AES_KEY, corp_id)


def wecom_event(
    user_id: str = "zhangsan", change: str = "update_user", create_time: int = 1700000000, extra: str = ""
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>"
        f"<ChangeType>{change}</ChangeType><UserID><![CDATA[{user_id}]]></UserID>"
        f"<Name><![CDATA[张三]]></Name><Department><![CDATA[1,2]]></Department>{extra}</xml>"
    )


def wecom_approval_event(sp_no: str = "202611240001", status: int = 2, create_time: int = 1700000000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]>"
        f"</FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[sys_approval_change]]></Event><AgentID>3010040</AgentID><ApprovalInfo>"
        f"<SpNo>{sp_no}</SpNo><SpName><![CDATA[报销]]></SpName><SpStatus>{status}</SpStatus>"
        f"<Notifyer><UserId><![CDATA[u1]]></UserId></Notifyer>"
        f"<Notifyer><UserId><![CDATA[u2]]></UserId></Notifyer></ApprovalInfo></xml>"
    )


def wecom(
    event_xml: str,
    *,
    timestamp: int | None = None,
    nonce: str = "wxnonce01",
    corp_id: str = WECOM_CORP_ID,
    content_type: str = "text/xml",
) -> Delivery:
    timestamp = int(time.time()) if timestamp is None else timestamp
    sealed = wecom_crypto(corp_id).encrypt_message(event_xml, nonce, str(timestamp))
    encrypt = _xml_text(sealed, "Encrypt")
    body = (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]>"
        f"</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode()
    return Delivery(
        "POST",
        "/expense-sync/webhooks/wecom",
        body,
        {"Content-Type": content_type},
        {"msg_signature": _xml_text(sealed, "MsgSignature"), "timestamp": str(timestamp), "nonce": nonce},
    )


def wecom_url_check(
    echo: str, *, timestamp: int | None = None, nonce: str = "wxnonce02", corp_id: str = WECOM_CORP_ID
) -> Delivery:
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(WECOM_AES_KEY + "=")
    echostr = WeComPrpCrypto(key).encrypt(echo, corp_id).decode()
    return Delivery(
        "GET",
        "/expense-sync/webhooks/wecom",
        params={
            "msg_signature": wechat_signature(WECOM_TOKEN, str(timestamp), nonce, echostr),
            "timestamp": str(timestamp),
            "nonce": nonce,
            "echostr": echostr,
        },
    )


def _xml_text(xml: str, tag: str) -> str:
    return xmltodict.parse(xml)["xml"][tag]


# -- Standard Webhooks ----------------------------------------------------------------------------
def standard_payload(kind: str = "claim.approved", claim: str = "ER-2026-0001") -> dict[str, Any]:
    return {"type": kind, "timestamp": datetime.now(UTC).isoformat(), "data": {"claimNo": claim}}


def standard(
    payload: dict[str, Any] | bytes,
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
    secrets: tuple[str, ...] = (STANDARD_SECRET,),
    content_type: str = "application/json",
) -> Delivery:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = " ".join(Webhook(s).sign(msg_id, moment, body.decode()) for s in secrets)
    return Delivery(
        "POST",
        "/expense-sync/webhooks/standard",
        body,
        {
            "Content-Type": content_type,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        },
    )


def sign_by_hand(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """A ``v1,`` signature computed with hmac per the spec, over the body bytes as they are."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_by_hand(body: bytes, msg_id: str = "msg_by_hand") -> Delivery:
    timestamp = int(time.time())
    return Delivery(
        "POST",
        "/expense-sync/webhooks/standard",
        body,
        {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_by_hand(STANDARD_SECRET, msg_id, timestamp, body),
        },
    )
