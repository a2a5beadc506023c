"""NC Cloud (NCC, on-premises) OpenAPI beside YonBIP: the app token, voucher insert and a lookup.

Sources: docs/vendors/research.md §5.2 and a public write-up of NCC ≥ 2005's signing (the reset option
``ncc_version`` picks ``"2005"``, the default, or ``"legacy"``).

* ``POST /nccloud/opm/accesstoken`` (``application/x-www-form-urlencoded``; parameters in the query
  string or the form) [V]: ``grant_type=client_credentials``, ``client_id``, ``biz_center`` (账套),
  ``client_secret`` = Base64(RSA-encrypt(secret, app public key)) — OAEP with SHA-256 on ≥ 2005,
  PKCS#1 v1.5 on legacy — and ``signature`` = hex SHA-256(client_id + secret + pubKey + salt) on
  ≥ 2005 (salt = Base64 of 16 bytes of Java SHA1PRNG seeded with the pubKey), without the salt on
  legacy. Success ``{"success": true, "data": {access_token, refresh_token, security_key,
  expires_in}}`` [data keys V]. The app key pair is fixed and derived from a constant seed, so the
  public key (:func:`app_public_key`) is stable across restarts.
* ``POST /nccloud/api/…`` [V]: headers ``access_token``, ``client_id``, ``ucg_flag: y`` (lower
  case; anything else is HTTP 400) and ``signature`` = hex SHA-256(client_id + raw body + pubKey);
  ``secret_level`` L0 (plain bodies) only. ``repeat_check: Y`` with ``busi_id`` makes the call
  idempotent: a repeated ``busi_id`` creates nothing.
* ``POST /nccloud/api/gl/voucher/insert`` [V body]: ``accbookCode, prepareddate, year, period,
  vouchertype, prepared (maker code), num (0 = next), attachment, detail[{detailindex, explanation,
  accountCode, currtypeCode, amount, localdebitamount, localcreditamount, group…/global…,
  busidate, freevalue1…30, ass[{checktypecode, checkvaluecode}]}]``.
* ``POST /nccloud/api/gl/voucher/query`` [I: path and shape not confirmed]: ``{"pk_voucher": [ids]}``
  or ``{"accbookCode", "year", "period"}`` → vouchers with ``pk_voucher, num, pk_checked
  (审核人), pk_manager (记账人), discardflag, tempsaveflag, errmessage, detail[…]``.

Envelopes [I]: ``{"success", "code", "message", "data"}`` with code ``"1000000000"`` on success and
``"1000000001"`` on refusals (HTTP 200); a missing, unknown or expired token is HTTP 401.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import random
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import VendorHTTPError
from expense_sync_sandboxes.yonyou import wire
from expense_sync_sandboxes.yonyou.ledger import LedgerError, Line, user

CLIENT_ID, CLIENT_SECRET, BIZ_CENTER = "expensesync", "ncc-sandbox-client-secret", "01"
TOKEN_PREFIX = "ncc-"
OK_CODE, FAIL_CODE = "1000000000", "1000000001"
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


# -- the app key pair --------------------------------------------------------------------------------
def _probable_prime(n: int, rng: random.Random, rounds: int = 32) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _probable_prime(candidate, rng):
            return candidate


@functools.cache
def app_key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    """The app's 2048-bit RSA key pair, the same on every run; and its public key as NCC shows it."""
    rng = random.Random("expense-sync NCC sandbox app key")
    e = 65537
    while True:
        p, q = _prime(rng, 1024), _prime(rng, 1024)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(e, phi) == 1:
            break
    d = pow(e, -1, phi)
    key = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    ).private_key()
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, base64.b64encode(der).decode()


def app_public_key() -> str:
    """The public key an NCC administrator copies from 第三方应用注册 into the client's settings."""
    return app_key_pair()[1]


def _salt(public_key: str) -> str:
    """Java ``SecureRandom("SHA1PRNG")`` seeded with the key: 16 bytes, Base64 (no line breaks)."""
    seed = public_key.encode()
    state, out = hashlib.sha1(seed).digest(), b""
    while len(out) < 16:
        out += hashlib.sha1(state).digest()
        state = hashlib.sha1(state + seed).digest()
    return base64.b64encode(out[:16]).decode()


def token_signature(client_id: str, secret: str, public_key: str, version: str) -> str:
    data = client_id + secret + public_key + (_salt(public_key) if version == "2005" else "")
    return hashlib.sha256(data.encode()).hexdigest()


def _decrypt(secret: str, version: str) -> str | None:
    key = app_key_pair()[0]
    if "%" in secret:
        secret = unquote(secret)  # tolerate a client that encoded the value before the form did
    pad = (
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        if version == "2005"
        else padding.PKCS1v15()
    )
    try:
        raw = base64.b64decode(secret, validate=True)
        block = key.key_size // 8
        return b"".join(key.decrypt(raw[i : i + block], pad) for i in range(0, len(raw), block)).decode()
    except ValueError:
        return None


# -- envelopes ---------------------------------------------------------------------------------------
def ok(data: Any, message: str | None = None) -> Response:
    return wire.respond({"success": True, "code": OK_CODE, "message": message, "data": data})


def fail(message: str, status: int = 200, code: str = FAIL_CODE) -> VendorHTTPError:
    return VendorHTTPError(
        wire.respond({"success": False, "code": code, "message": message, "data": None}, status=status)
    )


def rendered(voucher: dict[str, Any]) -> dict[str, Any]:
    status = voucher["status"]
    return {
        "pk_voucher": voucher["id"],
        "accbookCode": voucher["accbook"]["code"],
        "year": voucher["period"][:4],
        "period": voucher["period"][5:],
        "vouchertype": voucher["voucher_type"]["code"],
        "num": voucher["bill_code"],
        "prepareddate": voucher["make_time"],
        "explanation": voucher["description"],
        "pk_prepared": (voucher["maker"] or {}).get("code"),
        "pk_checked": (voucher["auditor"] or {}).get("code"),
        "pk_manager": (voucher["tallyman"] or {}).get("code"),
        "discardflag": "Y" if status == "05" else "N",
        "tempsaveflag": "Y" if status == "00" else "N",
        "errmessage": "凭证校验错误" if status == "02" else None,
        "totaldebit": voucher["total_debit"],
        "totalcredit": voucher["total_credit"],
        "detail": [
            {
                "detailindex": b["recordnumber"],
                "explanation": b["description"],
                "accountCode": b["accsubject"]["code"],
                "currtypeCode": "CNY",
                "amount": b["debit_original"] or b["credit_original"],
                "localdebitamount": b["debit_org"],
                "localcreditamount": b["credit_org"],
                "busidate": b["busidate"],
                **b["free"],
                "ass": [{"checktypecode": a["typecode"], "checkvaluecode": a["code"]} for a in b["auxiliary"]],
            }
            for b in voucher["bodies"]
        ],
    }


def _lines(body: dict[str, Any]) -> list[Line]:
    details = body.get("detail")
    if not isinstance(details, list) or not details:
        raise fail("分录信息detail不能为空")
    lines = []
    for d in details:
        if not isinstance(d, dict):
            raise fail("分录信息格式不正确")
        if (d.get("currtypeCode") or "CNY") != "CNY":
            raise fail("核算账簿本位币为CNY，不支持外币分录")
        debit = wire.amount(d.get("localdebitamount"), "组织本币借方")
        credit = wire.amount(d.get("localcreditamount"), "组织本币贷方")
        original = wire.amount(d.get("amount"), "原币")
        lines.append(
            Line(
                description=d.get("explanation") or "",
                account_code=d.get("accountCode") or "",
                debit=debit,
                credit=credit,
                debit_original=original if debit else None,
                credit_original=original if credit else None,
                auxiliary=[
                    (str(a.get("checktypecode") or ""), str(a.get("checkvaluecode") or ""))
                    for a in d.get("ass") or []
                    if isinstance(a, dict)
                ],
                busidate=d.get("busidate"),
                free={k: str(v) for k, v in d.items() if k.startswith("freevalue") and v not in (None, "")},
            )
        )
    return lines


def add_routes(sandbox) -> None:
    app = sandbox.app

    @app.post("/nccloud/opm/accesstoken")
    async def access_token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
        params = {**form, **dict(request.query_params)}
        if params.get("grant_type") != "client_credentials":
            raise fail(f"unsupported_grant_type: {params.get('grant_type')}")
        missing = [k for k in ("client_id", "client_secret", "signature", "biz_center") if not params.get(k)]
        if missing:
            raise fail(f"invalid_request, Missing parameters: {' '.join(missing)}")
        if params["client_id"] != CLIENT_ID:
            raise fail("invalid_client: 第三方应用不存在")
        if params["biz_center"] != BIZ_CENTER:
            raise fail(f"can not find biz_center: {params['biz_center']}")
        if _decrypt(params["client_secret"], sandbox.ncc_version) != CLIENT_SECRET:
            raise fail("Decryption error")
        expected = token_signature(CLIENT_ID, CLIENT_SECRET, app_public_key(), sandbox.ncc_version)
        if params["signature"] != expected:
            raise fail("Failed to verify signature for get token")
        token, ttl = sandbox.tokens.issue(TOKEN_PREFIX)
        refresh = token.replace(TOKEN_PREFIX, "nccr-", 1)
        return ok(
            {
                "access_token": token,
                "refresh_token": refresh,
                "security_key": refresh[-16:],
                "expires_in": int(ttl),
                "grant_type": "client_credentials",
            }
        )

    def api(path: str):
        def register(handler):
            async def guarded(request: Request) -> Response:
                headers, raw = request.headers, await request.body()
                token = headers.get("access_token")
                if not token or not token.startswith(TOKEN_PREFIX) or not sandbox.tokens.valid(token):
                    raise fail("access_token无效或已过期，请重新获取", status=401, code="401")
                if headers.get("ucg_flag") != "y":
                    return Response(status_code=400)
                if headers.get("client_id") != CLIENT_ID:
                    raise fail("client_id与access_token不匹配")
                expected = hashlib.sha256((CLIENT_ID + raw.decode() + app_public_key()).encode()).hexdigest()
                if headers.get("signature") != expected:
                    raise fail("请求签名校验失败")
                return await handler(request, await wire.json_body(request))

            app.add_api_route(path, guarded, methods=["POST"])
            return handler

        return register

    @api("/nccloud/api/gl/voucher/insert")
    async def insert(request: Request, body: dict[str, Any]) -> Response:
        headers = request.headers
        business_id = headers.get("busi_id") if (headers.get("repeat_check") or "").upper() == "Y" else None
        existing = sandbox.ledger.by_business(business_id)
        if existing is not None:
            raise fail(f"重复请求：busi_id[{business_id}]已处理，凭证{existing['id']}")
        year, period = str(body.get("year") or ""), str(body.get("period") or "")
        try:
            voucher = sandbox.ledger.create(
                accbook_code=body.get("accbookCode"),
                voucher_type=body.get("vouchertype"),
                period=f"{year}-{int(period):02d}" if year and period.isdigit() else None,
                maker=user(code=body.get("prepared")),
                make_time=str(body.get("prepareddate") or ""),
                description=str(body.get("explanation") or ""),
                lines=_lines(body),
                business_id=business_id,
                src_system="ncc",
                bill_code=int(body["num"]) if body.get("num") else None,
                attached=int(body.get("attachment") or 0),
                origin="ncc",
            )
        except LedgerError as err:
            raise fail(str(err).replace("凭证保存不成功,", "")) from None
        return ok(rendered(voucher), message="凭证保存成功")

    @api("/nccloud/api/gl/voucher/query")
    async def query(request: Request, body: dict[str, Any]) -> Response:
        vouchers = sandbox.ledger.vouchers
        if body.get("pk_voucher"):
            found = [vouchers[i] for i in body["pk_voucher"] if i in vouchers]
        else:
            if not body.get("accbookCode") or not body.get("year") or not body.get("period"):
                raise fail("查询条件pk_voucher或accbookCode+year+period不能为空")
            period = f"{body['year']}-{int(body['period']):02d}"
            found = sorted(
                (
                    v
                    for v in sandbox.ledger.of_book(code=body["accbookCode"], start=period, end=period)
                    if v["accbook"]["code"] == body["accbookCode"] and v["period"] == period
                ),
                key=lambda v: (v["voucher_type"]["code"], v["bill_code"]),
            )
        return ok([rendered(v) for v in found])
