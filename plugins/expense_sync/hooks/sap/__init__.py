"""SAP S/4HANA (OData for the chart and ledger, SOAP journal entries): the ERP side.

Wire facts and what stays inferred: ``docs/vendors/sap.md``."""

from expense_sync.hooks.sap.client import SapSettings
from expense_sync.hooks.sap.hook import SapHook

HOOK = SapHook

__all__ = ["HOOK", "SapHook", "SapSettings"]
