"""A vendor is a package: a fourth ERP dropped into hooks/ is found and used with nothing else edited."""

from __future__ import annotations

import sys

import pytest

from expense_sync import hooks
from expense_sync.claims.company import claim_company
from expense_sync.erp.accounts import PostingAccounts, posting_accounts
from expense_sync.hooks import registry
from expense_sync.pools import POOL_ERP
from expense_sync.settings import vendor_of

ODOO = """
from expense_sync.hooks.base import HookSettings, VendorHook


class OdooHook(VendorHook[HookSettings]):
    default_conn_name = "erp_odoo"
    vendor = "odoo"
    role = "erp"
    quota_qps = 4.0
    max_voucher_lines = 250
    default_company = "C1"
    default_posting_accounts = {"employee_payable": "2241-E", "clearing": "2241-C"}
    settings_model = HookSettings


HOOK = OdooHook
"""


@pytest.fixture
def odoo(tmp_path, monkeypatch):
    """The package ``hooks/odoo/`` as an implementer would add it (in a folder of the hooks path)."""
    (tmp_path / "odoo").mkdir()
    (tmp_path / "odoo" / "__init__.py").write_text(ODOO, encoding="utf-8")
    monkeypatch.setattr(hooks, "__path__", [*hooks.__path__, str(tmp_path)])
    registry.vendors.cache_clear()
    yield
    sys.modules.pop("expense_sync.hooks.odoo", None)
    registry.vendors.cache_clear()


def test_the_bundled_vendors_fill_their_roles():
    assert set(registry.vendors("erp")) == {"kingdee", "yonyou", "sap"}
    assert set(registry.vendors("oa")) == {"dingtalk", "wecom"}
    assert set(registry.vendors("expense")) == {"ekuaibao"}
    assert [registry.conn_id("erp", v) for v in ("kingdee", "yonyou", "sap")] == [
        "erp_kingdee",
        "erp_yonyou",
        "erp_sap",
    ]
    with pytest.raises(ValueError, match="unknown role 'crm'"):
        registry.vendors("crm")


def test_a_fourth_erp_is_its_package_and_nothing_else(odoo, monkeypatch):
    assert "odoo" in registry.vendors("erp") and "odoo" not in registry.vendors("oa")
    assert vendor_of("erp", " Odoo ") == "odoo"  # the Variable accepts it
    assert registry.conn_id("erp", "odoo") == "erp_odoo"
    assert posting_accounts("odoo", "{}") == PostingAccounts("2241-E", "2241-C")
    assert posting_accounts("odoo", '{"odoo": {"clearing": "9"}}') == PostingAccounts("2241-E", "9")
    assert claim_company("odoo", "{}") == "C1" and claim_company("odoo", '{"odoo": "C2"}') == "C2"
    assert registry.erp_class("odoo").max_voucher_lines == 250
    hook = registry.erp_hook("odoo")
    assert (hook.vendor, hook.conn_id) == ("odoo", "erp_odoo")  # type: ignore[attr-defined]


def test_its_pool_is_sized_from_its_own_quota(odoo, monkeypatch):
    from expense_sync import bootstrap

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "odoo")
    specs = {s.name: s for s in bootstrap.pool_specs()}
    assert (specs[POOL_ERP].vendor, specs[POOL_ERP].conn_id, specs[POOL_ERP].quota_qps) == ("odoo", "erp_odoo", 4.0)


def test_the_ledger_takes_its_vouchers_without_a_migration(odoo, mdm):
    mdm.execute(
        """INSERT INTO fin.voucher (erp_vendor, external_ref, kind, company, period, posting_date, total, lines)
           VALUES ('odoo', 'RU-2026-01-C1-1', 'rollup', 'C1', '2026-01', '2026-01-31', 1, '[]')"""
    )
    with pytest.raises(Exception, match="voucher_erp_vendor_name"):
        mdm.execute(
            """INSERT INTO fin.voucher (erp_vendor, external_ref, kind, company, period, posting_date, total, lines)
               VALUES ('Odoo ERP', 'X', 'rollup', 'C1', '2026-01', '2026-01-31', 1, '[]')"""
        )
