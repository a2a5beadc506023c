"""合思 documents (单据): claims, their approval stages and the ERP voucher write-back.

Endpoints, states and refusals: ``docs/vendors/ekuaibao.md``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from expense_sync.hooks.ekuaibao.client import PAGE_SIZE, EkuaibaoClient
from expense_sync.hooks.errors import VendorRequestError

NOT_PAID_TEXT = "不是已支付状态"


class NotPaidError(VendorRequestError):
    """合思 accepts a voucher write-back only for documents in state ``paid``: wait and retry."""


class FlowsApi(EkuaibaoClient):
    """Documents and the voucher write-back."""

    def iter_documents(self, since: str | None = None, *, form_type: str = "expense") -> Iterator[list[dict]]:
        """Pages of current documents updated since ``since`` (``"yyyy-MM-dd HH:mm:ss"``, inclusive),
        oldest change first; all current documents when ``since`` is None."""
        params: dict[str, Any] = {"type": form_type, "active": "true", "orderBy": "updateTime", "orderByType": "asc"}
        if since:
            params["startDate"] = since
        yield from self._list("/api/openapi/v1.1/docs/getApplyList", params)

    def flow_detail(self, flow_id: str) -> dict | None:
        """One document with its details, or ``None`` when 合思 no longer has it (deleted)."""
        try:
            return self.request("GET", "/api/openapi/v1.1/flowDetails", params={"flowId": flow_id})["value"]
        except VendorRequestError as err:
            if err.status == 412:
                return None
            raise

    def approve_states(self, flow_ids: list[str]) -> dict[str, str]:
        """The current approval stage name of each flow (served from a cache that may lag ~1 s)."""
        stages: dict[str, str] = {}
        for i in range(0, len(flow_ids), PAGE_SIZE):
            body = self.request("GET", f"/api/openapi/v2/approveStates/[{','.join(flow_ids[i : i + PAGE_SIZE])}]")
            stages.update({item["flowId"]: item.get("stageName", "") for item in body.get("items") or []})
        return stages

    def write_back_voucher(self, flow_id: str, voucher_no: str, created_ms: int, period: str | None = None) -> None:
        """Write the ERP voucher number onto a document (idempotent: it overwrites).

        Raises :class:`NotPaidError` when 合思 refuses because the document is not ``paid`` yet:
        the caller keeps the claim waiting and tries again on its next pull."""
        entry: dict[str, Any] = {"flowId": flow_id, "voucherNo": voucher_no, "voucherCreateTime": str(created_ms)}
        if period:
            entry["fiscalPeriod"] = period
        try:
            self.request("PUT", "/api/openapi/v2.1/flow/data/erpVoucher", json={"voucher": [entry]})
        except VendorRequestError as err:
            if err.status == 400 and NOT_PAID_TEXT in err.message:
                raise NotPaidError(err.message, vendor=err.vendor, endpoint=err.endpoint, status=400) from None
            raise
