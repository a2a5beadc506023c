"""合思 invoices (发票): the invoices bound to a claim and their entities (发票主体, train tickets,
flight itineraries, taxi receipts...).

Endpoints, fields and limits: ``docs/vendors/ekuaibao.md`` ("Invoices (发票)")."""

from __future__ import annotations

from expense_sync.hooks.ekuaibao.client import EkuaibaoClient

# codeOrIds per call: the docs give no limit for it [I]; the size of every other 合思 id list
FLOW_BATCH = 100
# ids per entity search: ``count`` "最大不能超过 100" is documented for index/count paging [V];
# that the same cap holds for ``ids`` is [I]
ENTITY_BATCH = 100
# invoiceIds per detailBatch call: no limit documented [I]
DETAIL_BATCH = 100
# objectId values (EKB datalink-extend/get-entity-invoice.md, 发票类型), = a ref's ``invoiceType``
OBJECT_IDS = (
    "invoice",
    "other",
    "taxi",
    "fixed",
    "passengerCar",
    "machinePrint",
    "shopping",
    "train",
    "flightItinerary",
    "tolls",
    "medical",
    "noTaxIncome",
)


class InvoicesApi(EkuaibaoClient):
    """The invoices of claims (读: ``/api/openapi/v2/extension/.../INVOICE/...``)."""

    def flow_invoice_refs(self, flow_ids: list[str]) -> dict[str, list[dict]]:
        """The invoice refs (``invoiceId``, ``invoiceItemId``, ``invoiceType``) of each flow, in
        合思's order; a flow 合思 answers nothing for (unknown, or without invoices) maps to ``[]``."""
        refs: dict[str, list[dict]] = {flow_id: [] for flow_id in flow_ids}
        for i in range(0, len(flow_ids), FLOW_BATCH):
            body = self.request(
                "POST",
                "/api/openapi/v2/extension/flow/INVOICE/search",
                json={"type": "id", "codeOrIds": flow_ids[i : i + FLOW_BATCH]},
            )
            for flow_id, items in (body.get("value") or {}).items():
                refs[flow_id] = list(items or [])
        return refs

    def invoice_entities(self, object_id: str, ids: list[str]) -> list[dict]:
        """The entities of ``ids`` of one invoice type (``objectId``), in chunks of at most 100;
        ids 合思 does not know are left out of its answer (it does not check them)."""
        entities: list[dict] = []
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), ENTITY_BATCH):
            body = self.request(
                "POST",
                f"/api/openapi/v2/extension/INVOICE/object/{object_id}/search",
                json={"ids": unique[i : i + ENTITY_BATCH]},
            )
            entities.extend(body.get("items") or [])
        return entities

    def invoice_details(self, invoice_ids: list[str]) -> dict[str, list[dict]]:
        """The 发票明细 rows (``E_system_发票明细_税率``, ``_金额``, ``_税额``...) of each 发票主体 id,
        in 合思's order; an id 合思 answers no rows for (a ticket, an unknown id) maps to ``[]``."""
        rows: dict[str, list[dict]] = {invoice_id: [] for invoice_id in invoice_ids}
        unique = list(rows)
        for i in range(0, len(unique), DETAIL_BATCH):
            body = self.request(
                "POST",
                "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch",
                json={"invoiceIds": unique[i : i + DETAIL_BATCH]},
            )
            for row in body.get("items") or []:
                rows.setdefault(row.get("masterId", ""), []).append(row)
        return rows

    def claim_invoices(self, flow_id: str) -> list[dict]:
        """Every invoice of one claim, in 合思's order: ``{"invoiceId", "invoiceType",
        "invoiceItemId", "entity"}``; ``entity`` is None when 合思 returned none for the id (the
        caller queues it: never raised here)."""
        refs = self.flow_invoice_refs([flow_id])[flow_id]
        by_type: dict[str, list[str]] = {}
        for ref in refs:
            by_type.setdefault(ref["invoiceType"], []).append(ref["invoiceId"])
        found: dict[tuple[str, str], dict] = {}
        for object_id, ids in by_type.items():
            for entity in self.invoice_entities(object_id, ids):
                found[(object_id, entity.get("id", ""))] = entity
        return [
            {
                "invoiceId": ref["invoiceId"],
                "invoiceType": ref["invoiceType"],
                "invoiceItemId": list(ref.get("invoiceItemId") or []),
                "entity": found.get((ref["invoiceType"], ref["invoiceId"])),
            }
            for ref in refs
        ]
