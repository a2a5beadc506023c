"""What a YonBIP tenant must offer us, checked at setup: the auxiliary accounting types (辅助核算项)
our voucher lines name for cost centre and project, and a voucher maker.

The type codes are tenant settings (``cost_center_aux_code``, ``project_aux_code``): a code the
tenant lacks makes every voucher with that dimension fail, and makes the balances read that
dimension as empty. ``querybd/multidimext`` lists the tenant's types. Sources:
``docs/vendors/yonyou.md`` ("YonBIP: setup checks").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expense_sync.hooks.contract import required
from expense_sync.hooks.yonyou.pages import YonbipPaginator

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouHook

MULTIDIMEXT_PATH = "/yonbip/fi/fipub/basedoc/querybd/multidimext"
ENDPOINT = f"POST {MULTIDIMEXT_PATH}"


def auxiliary_types(hook: YonyouHook) -> dict[str, str]:
    """The tenant's auxiliary accounting types: code → name."""
    paginator = YonbipPaginator(endpoint=ENDPOINT, size=1000)
    body = {"fields": ["id", "code", "name"]}
    found: dict[str, str] = {}
    for page in hook.paginate("POST", MULTIDIMEXT_PATH, paginator, json=body, paging_in="json"):
        for record in page:
            code = required(record, "code", vendor=hook.vendor, endpoint=ENDPOINT)
            found[str(code)] = str(required(record, "name", vendor=hook.vendor, endpoint=ENDPOINT, nullable=True))
    return found


def missing(hook: YonyouHook) -> list[str]:
    """One line per prerequisite the tenant or the connection lacks."""
    settings, problems = hook.settings, []
    if not (settings.maker_mobile or settings.maker_email):
        problems.append(
            f"connection {hook.conn_id!r} names no voucher maker: set maker_mobile or maker_email "
            "(addVoucher refuses a voucher without one)"
        )
    types = auxiliary_types(hook)
    known = ", ".join(f"{code} {name}" for code, name in sorted(types.items())) or "none"
    for setting in ("cost_center_aux_code", "project_aux_code"):
        code = getattr(settings, setting)
        if code not in types:
            problems.append(
                f"auxiliary accounting type {code!r} ({setting}) is not among the tenant's types "
                f"(querybd/multidimext: {known})"
            )
    return problems
