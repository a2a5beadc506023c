"""The K3Cloud sandbox's bulk seed (``seed_vouchers``, the month-end benchmark's setup) over HTTP: a voucher
seeded from the hook's own Save model is found, listed, queried and summed exactly like one posted."""

import datetime as dt
from decimal import Decimal

import pytest

from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.kingdee import KingdeeHook
from expense_sync.hooks.kingdee.vouchers import VOUCHER_FORM

FIELDS = ["FBillNo", "FVOUCHERGROUPID.FNumber", "FDocumentStatus", "FYEAR", "FPERIOD", "FDEBITTOTAL"]
FIELDS += ["FCHECKERID.FNumber", "FACCOUNTID.FNumber", "FDEBIT", "FCREDIT", "FDetailID.FFLEX5.FNumber"]
FIELDS += ["FDetailID.FF100002.FNumber", "FCURRENCYID.FNumber", "FAMOUNTFOR", "FDC"]


def claim(ref, amount):
    amount = Decimal(amount)
    lines = (
        VoucherLine("2241.09", debit=amount, cost_center="BM000007", project="XM2024006", text="差旅费"),
        VoucherLine("2241.01", credit=amount, text="E0001 差旅费"),
    )
    return Voucher(ref, "001", dt.date(2025, 3, 15), "2025-03", f"报销 {ref}", lines)


def test_a_seeded_voucher_is_answered_like_a_posted_one(kingdee):
    hook = KingdeeHook()
    posted = hook.create_voucher(claim("BX-POSTED", "321.09"))
    kingdee.mutate("audit_voucher", external_ref="BX-POSTED")
    seed = {"id": 1_000_007, "number": 7, "state": "C", "model": hook.voucher_model(claim("BX-SEEDED", "321.09"))}
    assert kingdee.mutate("seed_vouchers", vouchers=[seed]) == {"seeded": 1, "ids": [1_000_007, 1_000_007]}

    found = hook.find_voucher("BX-SEEDED", "2025-03")
    assert (found.remote_id, found.number, found.state, found.period) == ("1000007", "记-7", "audited", "2025-03")
    assert hook.voucher_status("1000007") == found
    listed = {v.external_ref: v for v in hook.period_vouchers("001", "2025-03")}
    assert listed["BX-SEEDED"] == found and listed["BX-POSTED"].remote_id == posted.remote_id

    def rows(ref):
        return [
            {k: v for k, v in row.items() if k != "FBillNo"}
            for row in hook.query(VOUCHER_FORM, FIELDS, f"FEXPLANATION LIKE 'ES#{ref}#%'", "FEntity_FEntryID")
        ]

    assert rows("BX-SEEDED") == rows("BX-POSTED")  # the same voucher but for its id, number and times
    [balance] = [b for b in hook.balances("001", "2025-03") if b.account_code == "2241.09"]
    assert balance.debit == Decimal("642.18") and balance.credit == 0  # both in the ledger


def test_a_seed_below_the_book_s_ids_is_refused(kingdee):
    hook = KingdeeHook()
    hook.create_voucher(claim("BX-1", "1.00"))
    seed = {"id": 5, "number": 1, "model": hook.voucher_model(claim("BX-2", "1.00"))}
    with pytest.raises(RuntimeError, match="not above"):
        kingdee.mutate("seed_vouchers", vouchers=[seed])
