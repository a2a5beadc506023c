"""The OAs' event pushes, as the DingTalk and WeCom sandboxes send them to a configured receiver.

Both OAs seal a callback the same way ("WXBizMsgCrypt"): AES-256-CBC with the key
``base64(EncodingAESKey + "=")`` and its first 16 bytes as IV, PKCS#7 padding to 32 bytes, over
``16 random bytes | len(message) uint32 big-endian | message | receive id``; the signature is the
SHA-1 of the sorted ``[token, timestamp, nonce, encrypt]``. This is the sandbox's own implementation
(the receiver's is ``expense_sync.webhooks.msgcrypt``): a push verifies only if both agree.

* DingTalk: ``POST url?msg_signature=&timestamp=<ms>&nonce=`` with ``{"encrypt": "…"}``; the
  receive id is the AppKey (or the configured owner key);
* WeCom: ``POST url?msg_signature=&timestamp=<s>&nonce=`` with ``<xml><ToUserName/><Encrypt/>
  <AgentID/></xml>`` (``text/xml``); the receive id is the CorpID.

A push is sent synchronously from the request or mutation that caused it (the sandbox waits for the
receiver, at most ``TIMEOUT`` seconds); every push and its HTTP status is kept in ``Pushes.sent``
(the control API's state dump shows them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
TIMEOUT = 10.0


def seal(message: bytes, aes_key: str, receive_id: str) -> str:
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + receive_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1(b"".join(sorted(s.encode() for s in (token, timestamp, nonce, encrypt)))).hexdigest()


@dataclass
class Pushes:
    """Where the OA pushes its events (``configure_callback``) and what it pushed."""

    url: str | None = None
    token: str = ""
    aes_key: str = ""
    receive_id: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)

    def configure(self, url: str | None = None, token: str = "", aes_key: str = "", receive_id: str = "") -> dict:
        if url and (not token or len(aes_key) != 43 or not receive_id):
            raise ValueError("a callback needs url, token, a 43-character aes_key and receive_id")
        self.url, self.token, self.aes_key, self.receive_id = url, token, aes_key, receive_id
        return {"url": url, "receive_id": receive_id}

    def push(self, plain: bytes, *, millis: bool, xml: bool, event: dict[str, Any]) -> None:
        if not self.url:
            return
        timestamp = str(int(time.time() * 1000) if millis else int(time.time()))
        nonce = secrets.token_hex(8)
        encrypt = seal(plain, self.aes_key, self.receive_id)
        if xml:
            body = (
                f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[3010040]]></AgentID></xml>"
            ).encode()
            content_type = "text/xml"
        else:
            body, content_type = json.dumps({"encrypt": encrypt}).encode(), "application/json"
        query = f"msg_signature={sign(self.token, timestamp, nonce, encrypt)}&timestamp={timestamp}&nonce={nonce}"
        separator = "&" if "?" in self.url else "?"
        request = urllib.request.Request(
            f"{self.url}{separator}{query}", data=body, method="POST", headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                status, reply = answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            status, reply = err.code, err.read().decode("utf-8", "replace")
        except OSError as err:
            status, reply = 0, str(err)
        self.sent.append({"event": event, "status": status, "reply": reply[:200]})


def dingtalk_event(corp_id: str, approval: Any, change: tuple[str, str, Any]) -> dict[str, Any] | None:
    """A ``bpms_instance_change`` / ``bpms_task_change`` event in the documented fields (审批事件);
    ``None`` for a change DingTalk pushes nothing for. ``processCode`` is not in the documented
    examples [I: common clients read it]."""
    kind, what, task = change
    if kind == "settled":  # DingTalk pushes each task and instance change, nothing per act
        return None
    event: dict[str, Any] = {
        "EventType": "bpms_instance_change" if kind == "instance" else "bpms_task_change",
        "processInstanceId": approval.instance_id,
        "corpId": corp_id,
        "createTime": approval.created,
        "bizCategoryId": "",
        "title": approval.title,
        "processCode": approval.process_code,
    }
    if kind == "instance":
        event |= {"type": what, "staffId": approval.originator, "url": "https://aflow.dingtalk.com/"}
        if what != "start":
            event["finishTime"] = approval.finished
        if what == "finish":
            event["result"] = approval.state
        return event
    event |= {"type": "finish" if what == "redirect" else what, "staffId": task.approver}
    if what == "redirect":
        event |= {"result": "redirect", "finishTime": task.finished}
    elif what == "finish":
        event |= {"result": task.result, "finishTime": task.finished, "remark": task.comment}
    elif what == "cancel":
        event["finishTime"] = task.finished
    return event


def wecom_event(corp_id: str, info: dict[str, Any], change_event: int) -> bytes:
    """A ``sys_approval_change`` event (审批申请状态变化回调通知) with the instance's ``info``."""

    def text(value: Any) -> str:
        return f"<![CDATA[{value}]]>" if isinstance(value, str) else escape(str(value))

    records = "".join(
        f"<SpRecord><SpStatus>{r['sp_status']}</SpStatus><ApproverAttr>{r['approverattr']}</ApproverAttr>"
        + "".join(
            f"<Details><Approver><UserId>{text(d['approver']['userid'])}</UserId></Approver>"
            f"<Speech>{text(d['speech'])}</Speech><SpStatus>{d['sp_status']}</SpStatus>"
            f"<SpTime>{d['sptime']}</SpTime></Details>"
            for d in r["details"]
        )
        + "</SpRecord>"
        for r in info["sp_record"]
    )
    applyer = info["applyer"]
    return (
        f"<xml><ToUserName>{text(corp_id)}</ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[sys_approval_change]]></Event><AgentID>3010040</AgentID><ApprovalInfo>"
        f"<SpNoStr>{text(info['sp_no'])}</SpNoStr><SpNo>{escape(info['sp_no'])}</SpNo>"
        f"<SpName>{text(info['sp_name'])}</SpName><SpStatus>{info['sp_status']}</SpStatus>"
        f"<TemplateId>{text(info['template_id'])}</TemplateId><ApplyTime>{info['apply_time']}</ApplyTime>"
        f"<Applyer><UserId>{text(applyer['userid'])}</UserId><Party>{text(applyer['partyid'])}</Party></Applyer>"
        f"{records}<StatuChangeEvent>{change_event}</StatuChangeEvent></ApprovalInfo></xml>"
    ).encode()


# The directory's change kinds as each OA names them: DingTalk's 通讯录事件 EventType, WeCom's
# change_contact ChangeType.
DINGTALK_CONTACT_EVENTS = {
    "user_add": "user_add_org",
    "user_modify": "user_modify_org",
    "user_leave": "user_leave_org",
    "dept_create": "org_dept_create",
    "dept_modify": "org_dept_modify",
    "dept_remove": "org_dept_remove",
}
WECOM_CONTACT_EVENTS = {
    "user_add": "create_user",
    "user_modify": "update_user",
    "user_leave": "delete_user",
    "dept_create": "create_party",
    "dept_modify": "update_party",
    "dept_remove": "delete_party",
}


def dingtalk_contact_event(corp_id: str, kind: str, key: Any) -> dict[str, Any]:
    """A DingTalk 通讯录事件: ``EventType``, ``CorpId``, ``TimeStamp`` and the ids it names, people as
    ``UserId`` and departments as ``DeptId`` (lists) [I: key names beyond EventType/UserId/CorpId]."""
    event: dict[str, Any] = {"EventType": DINGTALK_CONTACT_EVENTS[kind], "CorpId": corp_id}
    event["UserId" if kind.startswith("user_") else "DeptId"] = [key]
    event["TimeStamp"] = str(int(time.time() * 1000))
    return event


def wecom_contact_event(corp_id: str, kind: str, key: Any) -> bytes:
    """A WeCom ``change_contact`` event naming the member (``UserID``) or department (``Id``) only, as
    WeCom sends them to callback URLs configured after 2022-08-15 (成员属性只回调UserId/Department)."""
    named = f"<UserID><![CDATA[{key}]]></UserID>" if kind.startswith("user_") else f"<Id>{int(key)}</Id>"
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[{WECOM_CONTACT_EVENTS[kind]}]]></ChangeType>"
        f"{named}</xml>"
    ).encode()
