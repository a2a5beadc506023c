"""What a target system must offer that not every S/4HANA release or installation does, checked
against its own ``$metadata`` (``python -m expense_sync setup`` prints the result).

* ``A_JournalEntryItemBasic`` must have the fields the look-ups, the period listing and the balances
  select or filter; older releases lack ``AccountingDocument``, ``DocumentReferenceID`` and
  ``DebitCreditCode`` (``docs/vendors/sap.md``, Contradiction 1).
* The G/L account service must be there (the chart sync cannot go without it). The optional chart
  entities are not prerequisites: the chart sync skips and reports one the system lacks."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from expense_sync.hooks.errors import EntityUnavailableError
from expense_sync.hooks.sap.client import SapClient
from expense_sync.hooks.sap.entities import REQUIRED
from expense_sync.hooks.sap.services import JOURNAL_ITEMS, JOURNAL_SERVICE

JOURNAL_FIELDS = (
    "Ledger",
    "CompanyCode",
    "LedgerFiscalYear",
    "FiscalPeriod",
    "GLAccount",
    "CostCenter",
    "WBSElement",
    "AmountInCompanyCodeCurrency",
    "AccountingDocument",
    "DocumentReferenceID",
    "DebitCreditCode",
)


def entity_properties(metadata: str, entity_type: str) -> set[str] | None:
    """The property names of ``entity_type`` in an EDMX document (None if it has no such type)."""
    for node in ET.fromstring(metadata).iter():
        if node.tag.rpartition("}")[2] == "EntityType" and node.get("Name") == entity_type:
            return {p.get("Name", "") for p in node if p.tag.rpartition("}")[2] == "Property"}
    return None


class SapPrerequisites(SapClient):
    """``prerequisites()`` of the vendor hooks, for SAP."""

    def metadata(self, service: str) -> str:
        return self.request("GET", f"{self.settings.odata_path}/{service}/$metadata")

    def prerequisites(self) -> list[str]:
        problems = []
        for kind in sorted(REQUIRED):
            entity = self.settings.entities[kind]
            try:
                found = entity_properties(self.metadata(entity.service), f"{entity.entity_set}Type")
            except EntityUnavailableError:
                problems.append(f"service {entity.service} ({kind}): not activated (the chart sync needs it)")
                continue
            if found is None:
                problems.append(f"service {entity.service} has no entity set {entity.entity_set} ({kind})")
        try:
            found = entity_properties(self.metadata(JOURNAL_SERVICE), f"{JOURNAL_ITEMS}Type")
        except EntityUnavailableError:
            return [*problems, f"service {JOURNAL_SERVICE}: not activated (voucher look-ups and balances need it)"]
        missing = [name for name in JOURNAL_FIELDS if name not in (found or set())]
        if missing:
            problems.append(
                f"{JOURNAL_SERVICE}/{JOURNAL_ITEMS} lacks {', '.join(missing)}: voucher look-ups, "
                "period reconciliation and balances fail on this release (docs/vendors/sap.md, Contradiction 1)"
            )
        return problems
