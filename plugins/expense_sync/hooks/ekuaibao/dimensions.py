"""合思 custom dimensions (自定义档案): categories and their items, which the chart sync writes.

Endpoints, answers and refusals: ``docs/vendors/ekuaibao.md``."""

from __future__ import annotations

from typing import Any

from expense_sync.hooks.ekuaibao.client import EkuaibaoClient
from expense_sync.hooks.errors import VendorRequestError


class DimensionsApi(EkuaibaoClient):
    """Dimension categories and items."""

    def dimension(self, name: str) -> dict:
        """The dimension category whose id, name or code is ``name``."""
        for page in self._list("/api/openapi/v1/dimensions", {}):
            for category in page:
                if name in (category.get("id"), category.get("name"), category.get("code")):
                    return category
        raise VendorRequestError(f"合思 has no dimension category {name!r}", vendor=self.vendor)

    def iter_dimension_items(self, dimension_id: str, start_date: str | None = None):
        """Pages of a category's items (disabled ones included), those updated since ``start_date``
        (``"yyyy-MM-dd HH:mm:ss"``, inclusive) when given, oldest change first."""
        params = {"dimensionId": dimension_id, **self._window(start_date, None)}
        yield from self._list("/api/openapi/v1/dimensions/items", params)

    def find_dimension_items(self, dimension_id: str, code: str) -> list[dict]:
        """The items of a category with this code (any state; ``getDimensionByCode`` spans categories)."""
        body = self.request("GET", "/api/openapi/v1/dimensions/getDimensionByCode", params={"code": code})
        return [item for item in body.get("items") or [] if item.get("dimensionId") == dimension_id]

    def create_dimension_item(self, item: dict[str, Any]) -> str:
        """Create one item; returns its id."""
        return self.request("POST", "/api/openapi/v1.1/dimensions/items", json=item, idempotent=False)["id"]

    def create_dimension_items(self, dimension_id: str, items: list[dict[str, Any]]) -> list[dict]:
        """Create up to 100 items of one category in one call (all or none); returns them with ids."""
        body = self.request(
            "POST",
            "/api/openapi/v1.1/dimensions/items/batch",
            params={"type": "id"},
            json={"dimensionId": dimension_id, "itemListRequest": items},
            idempotent=False,
        )
        return body.get("items") or []

    def update_dimension_item(self, item_id: str, item: dict[str, Any]) -> None:
        """Update an item by id (204). Sending any preset extra (``form``…) replaces them all."""
        self.request("PUT", f"/api/openapi/v1.1/dimensions/items/${item_id}", params={"type": "id"}, json=item)

    def set_dimension_item_active(self, item_id: str, active: bool) -> None:
        """Enable (this item only) or disable (with its children) an item (204)."""
        path = f"/api/openapi/v1.1/dimensions/items/${item_id}/{'enable' if active else 'disable'}"
        self.request("PUT", path, params={"type": "id"}, json={"applyToSubtree": False} if active else None)
