"""Travel bookings as the 合思 hook hands them over, and the master data the accrual engine resolves
them against, for the accrual tests.

:func:`world` puts one traveller (工号 ``E2001``, 合思 staff ``STAFF-1``) and the ERP sandbox's cost
centers and projects (``monthkit.CHART``) into the middle platform, with their 合思 crosswalk ids.
:func:`booking` is a confirmed booking of that traveller; :func:`accrue` and :func:`reverse` run the
engine against the vendor's sandbox through the real ERP hook. :func:`trip_claim` is the trip's claim,
posted, naming the booking's requisition.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from expense_sync.accruals.model import Booking
from expense_sync.accruals.post import accrue_bookings, reverse_accruals
from expense_sync.accruals.store import land
from expense_sync.hooks.registry import erp_hook
from monthkit import CHART, accounts, make_claims

CHINA = dt.timezone(dt.timedelta(hours=8))
STAFF, EMPLOYEE_NO = "STAFF-1", "E2001"


def world(mdm, vendor: str) -> None:
    """One active traveller and the sandbox's cost centers / projects, crosswalked to 合思 ids."""
    unit = mdm.execute(
        "INSERT INTO mdm.org_unit (code, name, source_updated_at) VALUES ('D1', '差旅部', now()) RETURNING org_unit_id"
    ).fetchone()[0]
    employee = mdm.execute(
        """INSERT INTO mdm.employee (employee_no, name, org_unit_id, source_updated_at)
           VALUES (%s, '张三', %s, now()) RETURNING employee_id""",
        (EMPLOYEE_NO, unit),
    ).fetchone()[0]
    mdm.execute(
        "INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id) VALUES ('employee', %s, 'ekuaibao', %s)",
        (employee, STAFF),
    )
    chart = CHART[vendor]
    for n, code in enumerate(chart["cost_centers"]):
        cc = mdm.execute(
            """INSERT INTO mdm.cost_center (code, name, company, source_system) VALUES (%s, %s, %s, %s)
               RETURNING cost_center_id""",
            (code, f"成本中心 {code}", chart["company"], vendor),
        ).fetchone()[0]
        mdm.execute(
            """INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
               VALUES ('cost_center', %s, 'ekuaibao', %s)""",
            (cc, f"ITEM-CC-{n}"),
        )
    for code in chart["projects"]:
        if code:
            mdm.execute(
                "INSERT INTO mdm.project (code, name, company, source_system) VALUES (%s, %s, %s, %s)",
                (code, f"项目 {code}", chart["company"], vendor),
            )


def booking(vendor: str, order_id: str = "ORD-1", **changes) -> Booking:
    """A confirmed flight booked on 2025-05-10 against requisition ``REQ-1``, 1 280.00 CNY."""
    chart = CHART[vendor]
    values = {
        "order_id": order_id,
        "state": "confirmed",
        "category": "flight",
        "requisition_code": "REQ-1",
        "staff_id": STAFF,
        "employee_no": None,
        "amount": Decimal("1280.00"),
        "booked_at": dt.datetime(2025, 5, 10, 9, 30, tzinfo=CHINA),
        "cost_center": chart["cost_centers"][0],
        "project": chart["projects"][1],
        "company": chart["company"],
        "raw": {"orderId": order_id},
    }
    values.update(changes)
    return Booking(**values)


def land_bookings(mdm, vendor: str, *bookings: Booking):
    return land(mdm, bookings, company=CHART[vendor]["company"])


def accrue(mdm, vendor: str, run: str = "1") -> dict[str, int]:
    return accrue_bookings(mdm, erp_hook(vendor), accounts(vendor), f"claim_events/{run}")


def reverse(mdm, vendor: str, run: str = "1") -> dict[str, int]:
    return reverse_accruals(mdm, erp_hook(vendor), accounts(vendor), f"claim_events/{run}")


def trip_claim(mdm, sandboxes, vendor: str, period: str, requisition: str = "REQ-1") -> dict:
    """The trip's claim, its voucher audited in the ERP, linked to ``requisition``."""
    (claim,) = make_claims(mdm, sandboxes, vendor, period, count=1, prefix="T")
    mdm.execute(
        "UPDATE fin.claim SET requisition_codes = ARRAY[%s] WHERE claim_id = %s", (requisition, claim["claim_id"])
    )
    return claim


def accrual(mdm, order_id: str = "ORD-1") -> dict:
    row = mdm.execute(
        """SELECT a.state, a.booking_version, v.external_ref, v.period, r.external_ref, r.period, a.amount
             FROM fin.accrual a LEFT JOIN fin.voucher v ON v.voucher_id = a.voucher_id
             LEFT JOIN fin.voucher r ON r.voucher_id = a.reversal_voucher_id WHERE a.order_id = %s""",
        (order_id,),
    ).fetchone()
    keys = ("state", "version", "ref", "period", "reversal", "reversal_period", "amount")
    return dict(zip(keys, row, strict=True))


def open_items(mdm, order_id: str) -> set[str]:
    rows = mdm.execute(
        """SELECT reason_code FROM sync.exception_item
            WHERE entity = 'booking' AND record_key = %s AND status <> 'resolved'""",
        (order_id,),
    ).fetchall()
    return {r[0] for r in rows}
