"""The company (accounting book / company code) claim vouchers are booked in.

The default is the ERP hook's ``default_company`` (the bundled sandbox's book); a deployment sets
its own in the Airflow Variable ``expense_sync_claim_company`` (JSON by ERP, e.g. ``{"sap": "2000"}``).
"""

from __future__ import annotations

import json

from expense_sync.hooks.registry import erp_class

VAR_CLAIM_COMPANY = "expense_sync_claim_company"


def claim_company(vendor: str, overrides: str | None = None) -> str:
    if overrides is None:
        from airflow.sdk import Variable

        overrides = Variable.get(VAR_CLAIM_COMPANY, default="{}")
    default = erp_class(vendor).default_company  # an ERP without a hook package is refused
    configured = json.loads(overrides or "{}")
    return str(configured.get(vendor) or default)
