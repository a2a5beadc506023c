"""Public names and configuration: connection ids, Airflow Variables and paths.

Connection ids are a contract (operators and alert rules refer to them). Which OA and which ERP a
deployment uses is configuration, read from Airflow Variables (``AIRFLOW_VAR_<NAME>`` works too)
when a task runs, never at DAG parse time.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

MDM_CONN_ID = "mdm_postgres"
# The vendor each role uses unless its Variable names another (the vendors: expense_sync.hooks.registry).
DEFAULT_VENDORS = {"oa": "dingtalk", "erp": "kingdee", "expense": "ekuaibao"}

VAR_OA_VENDOR = "expense_sync_oa_vendor"
VAR_ERP_VENDOR = "expense_sync_erp_vendor"
VENDOR_VARIABLES = {"oa": VAR_OA_VENDOR, "erp": VAR_ERP_VENDOR}
# The first month expense_rollup_monthly may post (YYYY-MM); unset: the month before its first run.
VAR_FIRST_PERIOD = "expense_sync_first_period"
# The share of active departments or of active people one org sync may deactivate without a person.
VAR_ORG_MAX_DEACTIVATION = "expense_sync_org_max_deactivation"
DEFAULT_ORG_MAX_DEACTIVATION = 0.05
# Days between full reads of the OA directory; in between, org_sync_daily reads what the OA's
# contact-change events name (expense_sync.org.changes). 0: read it whole every run.
VAR_ORG_FULL_READ_DAYS = "expense_sync_org_full_read_days"
DEFAULT_ORG_FULL_READ_DAYS = 7.0
# Who may answer each kind of question in the Airflow UI (JSON: kind → Airflow user ids).
VAR_DECIDERS = "expense_sync_deciders"
# Standard Webhooks signing secrets of the webhook receiver (``whsec_…``; several during a rotation).
VAR_WEBHOOK_SECRETS = "expense_sync_webhook_secrets"

# The asset the webhook receiver updates after it stored claim events; claim_events is scheduled on it.
CLAIMS_ASSET_NAME = "expense_claims"
CLAIMS_ASSET_URI = "expense-sync://claims"

# Operations (expense_sync.alerts, expense_sync.pools): alert channels are off until configured.
ALERT_DINGTALK_CONN_ID = "alerts_dingtalk"
ALERT_SMTP_CONN_ID = "alerts_smtp"
VAR_ALERT_EMAILS = "expense_sync_alert_emails"
# Airflow's own REST API (base URL, a user allowed to edit DAG runs): where a run's note is written.
AIRFLOW_API_CONN_ID = "airflow_api"
VAR_VENDOR_QUOTA_QPS = "expense_sync_vendor_quota_qps"
# Failed attempts after which an inbox event is given up as ``failed`` (its document is unreadable).
VAR_INBOX_MAX_ATTEMPTS = "expense_sync_inbox_max_attempts"
INBOX_MAX_ATTEMPTS = 5
# approval_events: the name of the E-Bot node (in the 合思 flow) that hands a document's approval to
# the OA; what an over-budget document gets (JSON, expense_sync.approvals.budget.OverBudgetRule); the
# ERP budget check before approvals and vouchers ("on" / "off").
VAR_EBOT_NODE = "expense_sync_ebot_node"
DEFAULT_EBOT_NODE = "OA审批"
VAR_OVER_BUDGET = "expense_sync_over_budget"
VAR_BUDGET_CHECK = "expense_sync_budget_check"

_ROOT = Path(__file__).resolve().parents[2]  # plugins/expense_sync/settings.py -> the project root
INCLUDE_DIR = Path(os.environ.get("EXPENSE_SYNC_INCLUDE_DIR", _ROOT / "include"))
GX_DIR = Path(os.environ.get("EXPENSE_SYNC_GX_DIR", _ROOT / "great_expectations"))
MIGRATIONS_DIR = INCLUDE_DIR / "sql" / "migrations"
MAPPINGS_DIR = INCLUDE_DIR / "mappings"


def vendor_of(role: str, value: str | None = None) -> str:
    """The vendor filling ``role`` (``oa``, ``erp`` or ``expense``): ``value`` or else its Variable,
    checked against the hook packages that can fill it."""
    from expense_sync.hooks.registry import vendors

    if value is None and role in VENDOR_VARIABLES:
        from airflow.sdk import Variable

        value = Variable.get(VENDOR_VARIABLES[role], default=DEFAULT_VENDORS[role])
    value = str(value or DEFAULT_VENDORS[role]).strip().lower()
    known = vendors(role)
    if value not in known:
        where = f"Variable {VENDOR_VARIABLES[role]}" if role in VENDOR_VARIABLES else role
        raise ValueError(f"{where}={value!r}: expected one of {', '.join(known)}")
    return value


def oa_vendor() -> str:
    """The configured OA (the Variable ``expense_sync_oa_vendor``)."""
    return vendor_of("oa")


def erp_vendor() -> str:
    """The configured ERP (the Variable ``expense_sync_erp_vendor``)."""
    return vendor_of("erp")


def inbox_max_attempts() -> int:
    """Failed attempts before an inbox event becomes ``failed`` (default 5, at least 1)."""
    from airflow.sdk import Variable

    value = str(Variable.get(VAR_INBOX_MAX_ATTEMPTS, default=INBOX_MAX_ATTEMPTS)).strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"Variable {VAR_INBOX_MAX_ATTEMPTS}={value!r}: expected a whole number of at least 1")
    return int(value)


def org_max_deactivation() -> float:
    """The share (0–1, default 5 %) of active departments or of active people one org sync may
    deactivate; above it nobody is deactivated until a person approves."""
    from airflow.sdk import Variable

    raw = Variable.get(VAR_ORG_MAX_DEACTIVATION, default=str(DEFAULT_ORG_MAX_DEACTIVATION))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise ValueError(f"Variable {VAR_ORG_MAX_DEACTIVATION}={raw!r}: expected a share between 0 and 1")
    return value


def org_full_read_every() -> dt.timedelta:
    """How long org_sync_daily reads only what the OA's events name before it reads the directory
    whole again (Variable ``expense_sync_org_full_read_days``, default 7; 0: every run)."""
    from airflow.sdk import Variable

    raw = Variable.get(VAR_ORG_FULL_READ_DAYS, default=str(DEFAULT_ORG_FULL_READ_DAYS))
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if days < 0:
        raise ValueError(f"Variable {VAR_ORG_FULL_READ_DAYS}={raw!r}: expected a number of days, 0 or more")
    return dt.timedelta(days=days)


def deciders() -> dict[str, list[str]]:
    """Variable ``expense_sync_deciders``: the Airflow users who answer each kind of question
    (``{"chart": ["finance"], "org": ["hr"]}``); unset: nobody is named."""
    import json

    from airflow.sdk import Variable

    raw = Variable.get(VAR_DECIDERS, default="{}")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        value = None
    ok = isinstance(value, dict) and all(
        isinstance(v, list) and all(isinstance(u, str) and u for u in v) for v in value.values()
    )
    if not ok:
        raise ValueError(f'Variable {VAR_DECIDERS}={raw!r}: expected JSON such as {{"chart": ["finance"]}}')
    return value


def ebot_node() -> str:
    from airflow.sdk import Variable

    return str(Variable.get(VAR_EBOT_NODE, default=DEFAULT_EBOT_NODE)).strip() or DEFAULT_EBOT_NODE


def budget_check_on() -> bool:
    from airflow.sdk import Variable

    value = str(Variable.get(VAR_BUDGET_CHECK, default="on")).strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"Variable {VAR_BUDGET_CHECK} is 'on' or 'off', not {value!r}")
    return value == "on"
