"""Seeding the middle platform for the approval matrix's tests: departments, people with their
managers, and cost centers, written straight into a migrated database (what the org and chart syncs
would have merged)."""

from __future__ import annotations

from expense_sync.erp.budget import CostCenterHolders


def seed_org(conn, people: dict[str, str | None], *, inactive: tuple[str, ...] = ()) -> None:
    """One department and ``{employee_no: manager_employee_no}``."""
    (unit,) = conn.execute(
        "INSERT INTO mdm.org_unit (code, name, source_updated_at) VALUES ('D1', '财务部', now()) RETURNING org_unit_id"
    ).fetchone()
    for no, manager in people.items():
        conn.execute(
            "INSERT INTO mdm.employee (employee_no, name, org_unit_id, active, manager_employee_no, source_updated_at)"
            " VALUES (%s, %s, %s, %s, %s, now())",
            (no, "员工" + no, unit, no not in inactive, manager),
        )


def seed_cost_centers(conn, *codes: str, company: str = "C100", inactive: tuple[str, ...] = ()) -> None:
    for code in codes:
        conn.execute(
            "INSERT INTO mdm.cost_center (code, name, company, active, source_system)"
            " VALUES (%s, %s, %s, %s, 'kingdee')",
            (code, "成本中心" + code, company, code not in inactive),
        )


def holders(*rows: tuple[str, str | None, str | None], company: str = "C100") -> list[CostCenterHolders]:
    """``(cost_center, owner, budget_controller)`` as the ERP hook hands them over."""
    return [CostCenterHolders(cc, company, owner, controller) for cc, owner, controller in rows]
