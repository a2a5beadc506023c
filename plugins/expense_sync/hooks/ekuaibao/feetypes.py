"""合思 fee types (费用类型), which the open API can only read (``docs/vendors/ekuaibao.md``)."""

from __future__ import annotations

from expense_sync.hooks.ekuaibao.client import EkuaibaoClient


class FeeTypesApi(EkuaibaoClient):
    """The fee-type catalogue."""

    def fee_types(self) -> list[dict]:
        """Every fee type, disabled ones included (one unpaged call; fee types are read-only)."""
        return self.request("GET", "/api/openapi/v1/feeTypes").get("items") or []
