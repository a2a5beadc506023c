"""NC Cloud (NCC, on-premises) OpenAPI: the app token, voucher insert and a voucher lookup.

Used by :class:`~expense_sync.hooks.yonyou.YonyouHook` when its connection says ``variant: "ncc"``;
the chart and balances stay YonBIP-only. Signing, paths and states: ``docs/vendors/yonyou.md``
("NC Cloud").
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from expense_sync.erp.model import CENT, Voucher, VoucherState, VoucherStatus
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import TokenInvalidError, VendorRequestError
from expense_sync.hooks.yonyou.ledger import line_dimensions

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouHook
    from expense_sync.hooks.yonyou.settings import YonyouSettings

TOKEN_PATH = "/nccloud/opm/accesstoken"
INSERT_PATH = "/nccloud/api/gl/voucher/insert"
QUERY_PATH = "/nccloud/api/gl/voucher/query"


def _salt(public_key: str) -> str:
    """Base64 of 16 bytes of Java's ``SecureRandom("SHA1PRNG")`` seeded with the public key."""
    seed = public_key.encode()
    state, out = hashlib.sha1(seed).digest(), b""
    while len(out) < 16:
        out += hashlib.sha1(state).digest()
        state = hashlib.sha1(state + seed).digest()
    return base64.b64encode(out[:16]).decode()


def token_signature(client_id: str, secret: str, public_key: str, version: str) -> str:
    data = client_id + secret + public_key + (_salt(public_key) if version == "2005" else "")
    return hashlib.sha256(data.encode()).hexdigest()


def encrypt_secret(secret: str, public_key: str, version: str) -> str:
    """Base64 of the secret RSA-encrypted with the app's public key, block by block."""
    key = serialization.load_der_public_key(base64.b64decode(public_key))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the NC Cloud public key is not an RSA key")
    size = key.key_size // 8
    pad: padding.AsymmetricPadding
    if version == "2005":
        pad, block = (
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
            size - 66,
        )
    else:
        pad, block = padding.PKCS1v15(), size - 11
    data = secret.encode()
    return base64.b64encode(
        b"".join(key.encrypt(data[i : i + block], pad) for i in range(0, len(data), block))
    ).decode()


def _state(voucher: dict[str, Any]) -> tuple[VoucherState, str]:
    if voucher.get("discardflag") == "Y":
        return "void", "discarded"
    if voucher.get("errmessage"):
        return "error", "error"
    if voucher.get("pk_manager"):
        return "posted", "tallied"
    if voucher.get("pk_checked"):
        return "audited", "checked"
    return "draft", "tempsaved" if voucher.get("tempsaveflag") == "Y" else "saved"


class NccApi:
    """The NC Cloud protocol on a :class:`~expense_sync.hooks.yonyou.YonyouHook`'s transport."""

    def __init__(self, hook: YonyouHook) -> None:
        self.hook = hook
        self.books_used: list[str] = []

    @property
    def settings(self) -> YonyouSettings:
        return self.hook.settings

    def fetch_token(self) -> tuple[str, float]:
        conn, settings = self.hook.connection, self.settings
        assert settings.ncc_public_key  # YonyouSettings requires it for the ncc variant
        params = {
            "grant_type": "client_credentials",
            "client_id": conn.login,
            "biz_center": settings.ncc_biz_center,
            "client_secret": encrypt_secret(conn.password, settings.ncc_public_key, settings.ncc_version),
            "signature": token_signature(conn.login, conn.password, settings.ncc_public_key, settings.ncc_version),
        }
        if settings.ncc_usercode:
            params["usercode"] = settings.ncc_usercode
        body = self.hook.request_token(
            "POST", TOKEN_PATH, params=params, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        where: dict[str, Any] = {"vendor": self.hook.vendor, "endpoint": f"POST {TOKEN_PATH}"}
        token = required(body, "data.access_token", **where)
        return str(token), float(required(body, "data.expires_in", nullable=True, **where) or 7200)

    def authorize(self, request: dict[str, Any]) -> None:
        conn = self.hook.connection
        raw = request.get("data") or b""
        body = raw.decode() if isinstance(raw, bytes) else str(raw)
        signature = hashlib.sha256((conn.login + body + self.settings.ncc_public_key).encode()).hexdigest()
        request["headers"] = {
            **request["headers"],
            "access_token": self.hook.get_token(),
            "client_id": conn.login,
            "signature": signature,
            "ucg_flag": "y",
            "Content-Type": "application/json;charset=utf-8",
        }

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        where: dict[str, Any] = {"vendor": self.hook.vendor, "endpoint": endpoint, "status": response.status_code}
        message = body.get("message") if isinstance(body, dict) else str(body or "")
        if response.status_code == 401:
            raise TokenInvalidError(message or "token refused", **where)
        if isinstance(body, dict) and body.get("success") in (False, "false"):
            raise VendorRequestError(message or "refused", code=body.get("code"), **where)

    def post(
        self,
        path: str,
        payload: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        answer = self.hook.request("POST", path, data=data, headers=headers, idempotent=idempotent)
        return required(answer, "data", vendor=self.hook.vendor, endpoint=f"POST {path}", nullable=True)

    # -- vouchers ---------------------------------------------------------------------------------
    def insert_body(self, voucher: Voucher) -> dict[str, Any]:
        settings, day = self.settings, voucher.posting_date.isoformat()
        detail = []
        for n, line in enumerate(voucher.lines, start=1):
            debit, credit = (str(amount.quantize(CENT)) for amount in (line.debit, line.credit))
            entry = {
                "detailindex": n,
                "explanation": line.text or voucher.description,
                "accountCode": line.account_code,
                "currtypeCode": voucher.currency,
                "amount": debit if line.debit else credit,
                "localdebitamount": debit,
                "localcreditamount": credit,
                "groupdebitamount": debit,
                "groupcreditamount": credit,
                "globaldebitamount": debit,
                "globalcreditamount": credit,
                "locRate": "1",
                "busidate": day,
                settings.ncc_ref_field: voucher.external_ref,
            }
            ass = [{"checktypecode": code, "checkvaluecode": value} for code, value in line_dimensions(settings, line)]
            if ass:
                entry["ass"] = ass
            detail.append(entry)
        return {
            "accbookCode": voucher.company,
            "prepareddate": day,
            "year": voucher.period[:4],
            "period": voucher.period[5:7],
            "vouchertype": voucher.voucher_type or settings.voucher_type_code,
            "prepared": settings.ncc_maker_code,
            "num": 0,
            "attachment": 0,
            "detail": detail,
        }

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        if voucher.company not in self.books_used:
            self.books_used.append(voucher.company)
        try:
            data = self.post(
                INSERT_PATH,
                self.insert_body(voucher),
                idempotent=False,
                headers={"repeat_check": "Y", "busi_id": voucher.external_ref},
            )
        except VendorRequestError:
            # A repeated busi_id is refused; the voucher it made is ours if it carries our reference.
            found = self.find_voucher(voucher.external_ref, voucher.period, [voucher.company])
            if found is None:
                raise
            return found
        return self.status(data)

    def status(self, voucher: dict[str, Any]) -> VoucherStatus:
        where: dict[str, Any] = {"vendor": self.hook.vendor, "endpoint": f"POST {QUERY_PATH}"}
        state, raw = _state(voucher)
        lines = required(voucher, "detail", **where) or [{}]
        number = required(voucher, "num", nullable=True, **where)
        return VoucherStatus(
            remote_id=str(required(voucher, "pk_voucher", **where)),
            number=None if number in (None, "") else str(number),
            state=state,
            external_ref=required(lines[0], self.settings.ncc_ref_field, nullable=True, **where),
            period=f"{required(voucher, 'year', **where)}-{int(required(voucher, 'period', **where)):02d}",
            raw_state=raw,
        )

    def find_voucher(self, external_ref: str, period: str, books: list[str] | None = None) -> VoucherStatus | None:
        field = self.settings.ncc_ref_field
        if books is None:
            books = list(dict.fromkeys(filter(None, [self.settings.accbook_code, *self.books_used])))
        for book in books:
            found = self.post(QUERY_PATH, {"accbookCode": book, "year": period[:4], "period": period[5:7]})
            for voucher in found or []:
                if any(line.get(field) == external_ref for line in voucher.get("detail") or []):
                    return self.status(voucher)
        return None

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        found = self.post(QUERY_PATH, {"pk_voucher": [remote_id]})
        if not found:
            raise VendorRequestError(f"no voucher {remote_id}", vendor=self.hook.vendor, endpoint=f"POST {QUERY_PATH}")
        return self.status(found[0])
