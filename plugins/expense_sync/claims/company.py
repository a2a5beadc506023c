"""The company (accounting book / company code) claim vouchers are booked in, per ERP.

Defaults are the bundled sandboxes' books (Kingdee account book ``001``, Yonyou ``0001``, SAP
company code ``1000``); a deployment sets its own in the Airflow Variable
``expense_sync_claim_company`` (JSON, e.g. ``{"sap": "2000"}``).
"""

from __future__ import annotations

import json

VAR_CLAIM_COMPANY = "expense_sync_claim_company"
DEFAULTS = {"kingdee": "001", "yonyou": "0001", "sap": "1000"}


def claim_company(vendor: str, overrides: str | None = None) -> str:
    if overrides is None:
        from airflow.sdk import Variable

        overrides = Variable.get(VAR_CLAIM_COMPANY, default="{}")
    configured = {**DEFAULTS, **json.loads(overrides or "{}")}
    if vendor not in configured:
        raise ValueError(f"no claim company configured for ERP {vendor!r} (Variable {VAR_CLAIM_COMPANY})")
    return str(configured[vendor])
