"""Helpers of the claim → voucher tests: a synced world (org + chart), the webhook receiver running
standalone on a free port, claims filed in the 合思 sandbox, and what each ERP sandbox holds."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chartkit import seed_org_units
from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_PATH_TOKEN, OUTBOUND_SIGN_KEY
from testkit import FAST, run_dag, serve

ERPS = ["kingdee", "yonyou", "sap"]
CLAIMS, PULL = "claim_events", "voucher_status_pull"


def prepare_world(dagbag, mdm, sandboxes, monkeypatch, vendor: str, oa: str = "dingtalk", **ekuaibao: Any) -> None:
    """Org sync (staff into 合思) and chart sync (cost centers/projects into 合思, fee types mapped);
    ``ekuaibao``: more extras of the 合思 connection (e.g. ``booking_entity_id``)."""
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", vendor)
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", oa)
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        sandboxes.connection(
            "expense_ekuaibao",
            **FAST,
            outbound_path_tokens=[OUTBOUND_PATH_TOKEN],
            outbound_sign_keys=[OUTBOUND_SIGN_KEY],
            **ekuaibao,
        ),
    )
    state, tasks = run_dag(dagbag, "org_sync_daily")
    assert state == "success", tasks
    seed_org_units(mdm, vendor)
    state, tasks = run_dag(dagbag, "expense_category_sync_weekly")
    assert state == "success", tasks


@dataclass
class Receiver:
    """The webhook receiver app served by uvicorn in a thread, against the test's database."""

    url: str
    server: Any
    thread: threading.Thread
    notified: list[dict] = field(default_factory=list)

    @property
    def ekuaibao_url(self) -> str:
        return f"{self.url}/expense-sync/webhooks/ekuaibao/{OUTBOUND_PATH_TOKEN}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def start_receiver() -> Receiver:
    from expense_sync.webhooks import create_app
    from expense_sync.webhooks.config import ReceiverSettings

    notified: list[dict] = []
    app = create_app(
        notifier=notified.append, settings=ReceiverSettings(notify_interval=0.0, config_ttl=0.0), prefix="/expense-sync"
    )
    return Receiver(*serve(app), notified)


# -- claim ingredients the synced world offers ----------------------------------------------------
def claimant(mdm, n: int = 0) -> str:
    """An active employee that the org sync put into 合思."""
    return mdm.execute(
        """SELECT e.employee_no FROM mdm.employee e JOIN mdm.crosswalk x
             ON x.entity = 'employee' AND x.system = 'ekuaibao' AND x.canonical_id = e.employee_id
            WHERE e.active ORDER BY e.employee_no OFFSET %s LIMIT 1""",
        (n,),
    ).fetchone()[0]


def mapped_fee_types(mdm) -> list[str]:
    """Fee type codes mapped to an active expense category on an active postable GL account."""
    rows = mdm.execute(
        """SELECT DISTINCT f.code FROM mdm.category_fee_type m JOIN mdm.fee_type f USING (fee_type_id)
             JOIN mdm.expense_category ec USING (expense_category_id)
             JOIN mdm.gl_account g ON g.code = ec.gl_account_code
            WHERE m.state = 'mapped' AND ec.active AND g.active AND g.postable AND f.active ORDER BY f.code"""
    ).fetchall()
    return [r[0] for r in rows]


def _fee_type_where(mdm, accounts: list[str], *, among: bool) -> str:
    row = mdm.execute(
        f"""SELECT f.code FROM mdm.category_fee_type m JOIN mdm.fee_type f USING (fee_type_id)
              JOIN mdm.expense_category ec USING (expense_category_id)
              JOIN mdm.gl_account g ON g.code = ec.gl_account_code
             WHERE m.state = 'mapped' AND ec.active AND g.active AND g.postable AND f.active
               AND {"" if among else "NOT "}ec.gl_account_code = ANY(%s) ORDER BY f.code LIMIT 1""",
        (accounts,),
    ).fetchone()
    assert row, f"no mapped fee type {'on' if among else 'outside'} {accounts}"
    return row[0]


def fee_type_on(mdm, accounts: list[str]) -> str:
    """A fee type mapped to an active category whose postable GL account is one of ``accounts``."""
    return _fee_type_where(mdm, accounts, among=True)


def fee_type_off(mdm, excluded: list[str]) -> str:
    """A mapped fee type whose postable GL account is none of ``excluded``."""
    return _fee_type_where(mdm, excluded, among=False)


def cost_centers(mdm) -> list[str]:
    """Active cost centers that 合思 holds as dimension items."""
    rows = mdm.execute(
        """SELECT k.code FROM mdm.cost_center k JOIN mdm.crosswalk x
             ON x.entity = 'cost_center' AND x.system = 'ekuaibao' AND x.canonical_id = k.cost_center_id
            WHERE k.active ORDER BY k.code"""
    ).fetchall()
    return [r[0] for r in rows]


def file_claim(sandboxes, mdm, *, amounts=("1280.00", "356.50"), state="paying", staff=None, fee_types=None, **kw):
    """A travel claim in 合思 with one line per amount; returns the flow."""
    fees, centers = fee_types or mapped_fee_types(mdm), cost_centers(mdm)
    lines = [
        {"fee_type_code": fees[i % len(fees)], "amount": amount, "cost_center": centers[i % len(centers)]}
        for i, amount in enumerate(amounts)
    ]
    return sandboxes.control("ekuaibao").mutate(
        "seed_claim", staff_code=staff or claimant(mdm), lines=lines, title="上海出差报销", state=state, **kw
    )


def flow_of(sandboxes, code: str) -> dict:
    return next(f for f in sandboxes.control("ekuaibao").state()["flows"] if f["form"]["code"] == code)


def erp_vouchers(sandboxes, vendor: str, ref: str) -> list[dict]:
    """The vouchers the ERP sandbox holds for one external reference."""
    state = sandboxes.control(vendor).state()
    if vendor == "kingdee":
        return [v for v in state["vouchers"] if v.get("F_ES_ExternalRef") == ref]
    if vendor == "yonyou":
        return [v for v in state["vouchers"] if (v.get("external") or {}).get("dataId") == ref]
    return [e for e in state["journal_entries"] if e.get("DocumentReferenceID") == ref]


def audit_in_erp(sandboxes, vendor: str, claim_no: str, remote_id: str) -> None:
    """What the ERP accountant does (SAP posts journal entries at once: nothing to do)."""
    if vendor == "kingdee":
        sandboxes.control(vendor).mutate("audit_voucher", external_ref=claim_no)
    elif vendor == "yonyou":
        sandboxes.control(vendor).mutate("audit_voucher", voucher_id=remote_id)


def claim_row(mdm, claim_no: str) -> dict:
    cur = mdm.execute("SELECT * FROM fin.claim WHERE claim_no = %s", (claim_no,))
    row = cur.fetchone()
    assert row is not None, f"no claim {claim_no}"
    return dict(zip([c.name for c in cur.description], row, strict=True))


def voucher_row(mdm, claim_no: str) -> dict:
    cur = mdm.execute("SELECT * FROM fin.voucher WHERE external_ref = %s", (claim_no,))
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip([c.name for c in cur.description], rows[0], strict=True))


def open_claim_items(mdm) -> dict[str, tuple[str, str]]:
    rows = mdm.execute(
        "SELECT record_key, kind, reason_code FROM sync.exception_item WHERE entity = 'claim' AND status <> 'resolved'"
    ).fetchall()
    return {key: (kind, reason) for key, kind, reason in rows}


def run_ok(dagbag, dag_id: str, **conf) -> dict[str, str]:
    state, tasks = run_dag(dagbag, dag_id, **conf)
    assert state == "success", tasks
    return tasks


# -- a process that dies at a step boundary -------------------------------------------------------
CHILD = """
import os, pathlib, sys, time
from expense_sync import boundaries

target, vendor, step = sys.argv[1:4]
pause = os.environ.get("CLAIMKIT_PAUSE_DIR")


def at(name):
    if name != target:
        return
    if not pause:
        os._exit(137)
    (pathlib.Path(pause) / "reached").touch()  # paused at the boundary until the test says go (once)
    while not (pathlib.Path(pause) / "go").exists():
        time.sleep(0.05)
    boundaries.install(None)


boundaries.install(at)

from expense_sync.claims.company import claim_company
from expense_sync.claims.intake import collect
from expense_sync.claims.post import post_vouchers
from expense_sync.claims.status import open_vouchers, pull_status, write_back
from expense_sync.claims.validate import validate_claims
from expense_sync.erp.accounts import posting_accounts
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.registry import erp_hook
from expense_sync.hooks.registry import oa_hook
from expense_sync.invoices.rules import tax_rules
from expense_sync.store.db import connect

with connect() as conn:
    if step == "post":
        collect(conn, EkuaibaoHook(), company=claim_company(vendor, "{}"), run_key="kill/test")
        validate_claims(conn, EkuaibaoHook(), oa_hook("dingtalk"), run_key="kill/test", rules=tax_rules(vendor, "{}"))
        post_vouchers(conn, erp_hook(vendor), posting_accounts(vendor, "{}"), "kill/test")
    else:
        rows = open_vouchers(conn)
        pull_status(conn, erp_hook(vendor), rows)
        write_back(conn, EkuaibaoHook(), "kill/test")
"""


def start_child(vendor: str, step: str, boundary: str = "", pause_dir: Path | None = None) -> subprocess.Popen:
    """The claim work of :func:`die_at` in a child process that runs on (no boundary) or, with
    ``pause_dir``, pauses at ``boundary`` until the file ``<pause_dir>/go`` exists."""
    env = os.environ | ({"CLAIMKIT_PAUSE_DIR": str(pause_dir)} if pause_dir else {})
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, boundary, vendor, step],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen) -> None:
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-3000:]


def die_at(boundary: str, vendor: str, step: str) -> int:
    """Run the claim work (``post``: collect, validate, post; ``pull``: status and write-back) in a
    child process that is killed (exit 137) when it reaches ``boundary``; returns its exit code."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, boundary, vendor, step],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 137), done.stderr[-3000:]
    return done.returncode


def ledger(mdm, entity: str, key: str) -> str | None:
    row = mdm.execute(
        "SELECT state FROM sync.outbound WHERE entity = %s AND business_key = %s", (entity, key)
    ).fetchone()
    return row[0] if row else None


# the ERP call that creates a voucher, per sandbox (for fault injection)
CREATE_PATHS = {
    "kingdee": "*DynamicFormService.Save.common.kdsvc",
    "yonyou": "*/voucher/addVoucher",
    "sap": "/sap/bc/srt/*",
}
