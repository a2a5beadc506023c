"""The tax rules claims' invoices are checked by, per ERP (``include/dictionaries/tax_rules.yaml``).

The file holds the defaults (the bundled sandboxes' charts); a deployment overrides any key per ERP
in the Airflow Variable ``expense_sync_tax_rules`` (JSON, e.g. ``{"kingdee": {"buyer_tax_ids":
{"001": "91310000…"}}}``). The file's keys and their meaning are documented in the file itself.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from expense_sync.settings import INCLUDE_DIR

VAR_TAX_RULES = "expense_sync_tax_rules"
RULES_FILE = INCLUDE_DIR / "dictionaries" / "tax_rules.yaml"


class TaxRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    buyer_tax_ids: dict[str, str] = Field(default_factory=dict)
    non_deductible_accounts: list[str] = Field(default_factory=list)
    passenger_transport_accounts: list[str] = Field(default_factory=list)
    supplier_required_accounts: list[str] = Field(default_factory=list)
    max_invoice_age_days: int = Field(365, ge=1)
    rates: list[Decimal] = Field(default_factory=list)


@cache
def _file() -> dict[str, Any]:
    return yaml.safe_load(RULES_FILE.read_text("utf-8"))


def tax_rules(vendor: str, overrides: str | None = None) -> TaxRules:
    """The rules for ``vendor``: the file's defaults and its ERP section, then the Variable's
    section for the ERP (``overrides`` is the Variable's JSON; read when None)."""
    if overrides is None:
        from airflow.sdk import Variable

        overrides = Variable.get(VAR_TAX_RULES, default="{}")
    configured = json.loads(overrides or "{}")
    if not isinstance(configured, dict):
        raise ValueError(f"Variable {VAR_TAX_RULES} must be a JSON object, got {overrides!r}")
    data = _file()
    return TaxRules(**{**data.get("defaults", {}), **data.get(vendor, {}), **configured.get(vendor, {})})
