"""The demo (``make demo``): org_sync_daily run for real through Airflow, twice, against the sandboxes,
then the travel-claim scenario (claim → ERP voucher → number back on the claim).

1. A PostgreSQL: the local server if one answers, else a throwaway cluster; a fresh database
   ``expense_sync_demo`` for the middle platform (left in place afterwards, to explore).
2. The DingTalk and 合思 sandboxes, with a seeded company of 40 departments and 400 people, four
   of them with the kind of bad record every real directory has.
3. ``airflow dags test org_sync_daily`` (the real Airflow CLI, SQLite metadata under .local/airflow),
   then a day of changes in the OA (2 % churn), then the DAG again.
4. A summary of both runs from the run ledger, the open exception queue, and where the Data Docs are.
5. The travel scenario: the weekly chart sync (Kingdee → middle platform → 合思 cost centers and fee
   types), the approval matrix (Kingdee's cost-center holders, DingTalk's managers), the webhook
   receiver started standalone; the employee's trip application (申请单) waits at 合思's E-Bot node,
   ``approval_events`` creates its DingTalk approval with the matrix's nodes (主管 → 财务), both
   approve in DingTalk and the decision reaches 合思; the flight booked against the application is
   accrued (预提) in Kingdee; the trip's claim goes the same way through DingTalk, then
   ``claim_events`` checks Kingdee's budget, posts one voucher and reverses the accrual; the accountant
   audits it, 合思 pays the claim, ``voucher_status_pull`` writes the voucher number back.
6. Month end: ``expense_rollup_monthly`` closes the claim's month (the rollup voucher in Kingdee,
   the reconciliation with its ledger, the GX checks) and writes the auditors' pack; the Kingdee
   accountant audits the rollup and the month end runs again: no second voucher, and the pack now
   calls the month reconciled (it does only once the ERP approved its vouchers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests
from psycopg import sql

from expense_sync_sandboxes.cluster import SandboxCluster
from expense_sync_sandboxes.ekuaibao.bookings import ORDER_ENTITY
from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_PATH_TOKEN, OUTBOUND_SIGN_KEY
from expense_sync_sandboxes.postgres import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
DATABASE = "expense_sync_demo"
BAD_RECORDS = [  # (userid, field, value): what the health of a real directory looks like
    ("u0000007", "email", "zhang.wei@"),
    ("u0000013", "mobile", "1380013"),
    ("u0000021", "job_number", "E0000022"),
]


def airflow(env: dict[str, str], *args: str, log) -> None:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    log.write(f"\n$ {' '.join(command)}\n".encode())
    log.flush()
    done = subprocess.run(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    if done.returncode:
        sys.exit(f"`airflow {' '.join(args)}` failed; see {log.name}")


def summarize(url: str, docs: Path) -> None:
    with psycopg.connect(url) as conn:
        runs = conn.execute("SELECT run_key FROM sync.run ORDER BY started_at").fetchall()
        print(f"\nexpense-sync demo: org_sync_daily through Airflow; middle platform {url}\n")
        for n, (run_key,) in enumerate(runs, 1):
            steps = dict(conn.execute("SELECT step, counts FROM sync.run_step WHERE run_key = %s", (run_key,)))
            merge, push = steps.get("merge", {}), steps.get("push", {})
            title = "first full sync" if n == 1 else "after a day of hires, leavers, transfers and renames"
            print(f"run {n} ({title}): {run_key}")
            print(
                f"  OA calls: {steps.get('extract', {}).get('api', {}).get('calls', 0)}, "
                f"合思 calls: {push.get('api_calls', 0)}"
            )
            for entity, label in (("org_unit", "departments"), ("employee", "employees")):
                m, p = merge.get(entity, {}), push.get(entity, {})
                pushed = ", ".join(f"{k} {v}" for k, v in sorted(p.items())) or "nothing"
                print(
                    f"  {label:<11} created {m.get('created', 0):>4}  updated {m.get('updated', 0):>3}  "
                    f"deactivated {m.get('deactivated', 0):>3}  quarantined {m.get('quarantined', 0):>2}"
                    f"   -> 合思: {pushed}"
                )
        items = conn.execute(
            "SELECT kind, entity, record_key, reason FROM sync.exception_item WHERE status <> 'resolved' "
            "ORDER BY kind, entity, record_key"
        ).fetchall()
    print(f"\nopen exception queue ({len(items)}), each waiting for a fix at the source:")
    for kind, entity, key, reason in items:
        print(f"  {kind:<10} {entity:<8} {key:<10} {reason}")
    print(f"\nData Docs (open in a browser): {docs.as_uri()}")


def start_receiver(env: dict[str, str], log) -> tuple[subprocess.Popen, str]:
    """The webhook receiver, standalone (``python -m expense_sync.webhooks``) on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "expense_sync.webhooks", "--port", str(port), "--notify", "none"]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/expense-sync"
    for _ in range(200):
        try:
            if requests.get(f"{url}/health", timeout=1).status_code < 500:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.terminate()
    sys.exit(f"the webhook receiver did not start; see {log.name}")


def approved_application(env, sandboxes, url: str, log, staff: str, fee_type: str, center: str) -> dict:
    """The trip's application (申请单) through the OA: the approval matrix, then the application at
    合思's E-Bot node, its DingTalk approval with the matrix's nodes, both approvers agreeing."""
    with psycopg.connect(url) as conn:
        manager = conn.execute(
            "SELECT manager_employee_no FROM mdm.employee WHERE employee_no = %s", (staff,)
        ).fetchone()[0]
        controller, owner = (r[0] for r in conn.execute(
            "SELECT employee_no FROM mdm.employee WHERE active AND employee_no <> ALL(%s) ORDER BY employee_no "
            "OFFSET 20 LIMIT 2", ([staff, manager],)))  # fmt: skip
    sandboxes.control("kingdee").mutate("set_cost_center_holders", cost_center=center, owner=owner,
                                        budget_controller=controller)  # fmt: skip
    print(f"Kingdee's budget center: {center} is owned by {owner}, its budget controlled by {controller}")
    print("airflow dags test approval_matrix_sync …", flush=True)
    airflow(env, "dags", "test", "approval_matrix_sync", log=log)
    lines = [{"fee_type_code": fee_type, "amount": "2000.00", "cost_center": center}]
    application = sandboxes.control("ekuaibao").mutate(
        "seed_application", staff_code=staff, lines=lines, title="上海出差申请", via_ebot=True
    )
    print(f"{staff} applies for the trip: {application['form']['code']} (¥2000.00) waits at 合思's E-Bot node")
    oa_approval(env, sandboxes, url, log, application["form"]["code"])
    return application


def oa_approval(env, sandboxes, url: str, log, code: str) -> None:
    """``approval_events`` asks DingTalk; each approver agrees there; ``approval_events`` tells 合思."""
    print("airflow dags test approval_events …", flush=True)
    airflow(env, "dags", "test", "approval_events", log=log)
    with psycopg.connect(url) as conn:
        instance, nodes = conn.execute(
            "SELECT instance_id, nodes FROM fin.approval_flow WHERE doc_code = %s ORDER BY approval_id DESC LIMIT 1",
            (code,),
        ).fetchone()
    steps = [n for n in nodes if "role" in n]
    print(f"  DingTalk approval {instance}: " + " → ".join(f"{n['role']} {n['approvers'][0]}" for n in steps))
    for node in steps:
        sandboxes.control("dingtalk").mutate("decide_task", instance_id=instance, approver=node["oa_users"][0],
                                             result="agree", comment="同意")  # fmt: skip
    print("  both approve in DingTalk; airflow dags test approval_events …", flush=True)
    airflow(env, "dags", "test", "approval_events", log=log)
    flow = next(f for f in sandboxes.control("ekuaibao").state()["flows"] if f["form"]["code"] == code)
    with psycopg.connect(url) as conn:
        state, decision = conn.execute(
            "SELECT state, decision FROM fin.approval_flow WHERE doc_code = %s ORDER BY approval_id DESC LIMIT 1",
            (code,),
        ).fetchone()
    print(f"  approval flow {state} ({decision}); 合思 document {code} is now {flow['state']}", flush=True)


def travel_claim(env: dict[str, str], sandboxes, url: str, log) -> str:
    """Step 5 of the module docstring."""
    from expense_sync import mapping
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.invoices.rules import tax_rules

    env = {**env, "AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR": "kingdee"}
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW_CONN_")})
    spec = mapping.load("kingdee", "cost_center")  # the ERP's cost centers as they land in staging
    records = erp_hook("kingdee").chart("cost_center")
    owners = sorted({owner for r in records if (owner := spec.apply(r)[1].get("owner_unit"))})
    with psycopg.connect(url, autocommit=True) as conn:  # the ERP's cost-center departments in the org master
        for code in owners:
            conn.execute(
                "INSERT INTO mdm.org_unit (code, name, parent_id, source_updated_at) SELECT %s, %s, org_unit_id, now() "
                "FROM mdm.org_unit WHERE parent_id IS NULL ORDER BY org_unit_id LIMIT 1 ON CONFLICT (code) DO NOTHING",
                (code, f"财务部门{code}"),
            )
    print("\nthe travel claim — week start: airflow dags test expense_category_sync_weekly …", flush=True)
    airflow(env, "dags", "test", "expense_category_sync_weekly", log=log)
    receiver, hooks_url = start_receiver(env, log)
    try:
        ekb = sandboxes.control("ekuaibao")
        ekb.mutate("configure_outbound", url=f"{hooks_url}/webhooks/ekuaibao/{OUTBOUND_PATH_TOKEN}")
        with psycopg.connect(url) as conn:
            staff = conn.execute(
                "SELECT e.employee_no FROM mdm.employee e JOIN mdm.crosswalk x ON x.entity = 'employee' "
                "AND x.system = 'ekuaibao' AND x.canonical_id = e.employee_id "
                "WHERE e.active AND e.manager_employee_no IS NOT NULL ORDER BY 1 LIMIT 1"
            ).fetchone()[0]
            fee_type = conn.execute(  # a travel expense: its invoices' input VAT is deductible
                "SELECT f.code FROM mdm.category_fee_type m JOIN mdm.fee_type f USING (fee_type_id) "
                "JOIN mdm.expense_category ec USING (expense_category_id) "
                "WHERE m.state = 'mapped' AND ec.gl_account_code = ANY(%s) ORDER BY f.code LIMIT 1",
                (tax_rules("kingdee", "{}").passenger_transport_accounts,),
            ).fetchone()[0]
            center = conn.execute(
                "SELECT k.code FROM mdm.cost_center k JOIN mdm.crosswalk x ON x.entity = 'cost_center' "
                "AND x.system = 'ekuaibao' AND x.canonical_id = k.cost_center_id WHERE k.active ORDER BY 1 LIMIT 1"
            ).fetchone()[0]
        day = dt.date.today().isoformat()  # the claim's date, and its invoices'
        flight = ekb.mutate(  # 航空运输电子客票行程单: 票价 1180 + 燃油附加费 50 + 民航发展基金 50
            "seed_invoice",
            object_id="flightItinerary",
            number="7812431511988",
            date=day,
            fare="1180.00",
            fuel="50.00",
            caac_fund="50.00",
            passenger=staff,
        )
        hotel = ekb.mutate(  # a 增值税电子专用发票 at 6 % to the company
            "seed_invoice",
            object_id="invoice",
            category="DIGITAL_SPECIAL",
            code="031002300111",
            number="08812345",
            date=day,
            net="336.32",
            tax="20.18",
            rate="6%",
            seller_name="上海静安宾馆有限公司",
            seller_tax_id="91440300892254961D",
            buyer_name="北京合思信息技术有限公司",
            buyer_tax_id="91110108318283928K",
            verified=True,
        )
        lines = [
            {
                "fee_type_code": fee_type,
                "amount": "1280.00",
                "cost_center": center,
                "reason": "上海往返机票",
                "invoices": [flight],
            },
            {
                "fee_type_code": fee_type,
                "amount": "356.50",
                "cost_center": center,
                "reason": "酒店住宿",
                "invoices": [hotel],
            },
        ]
        application = approved_application(env, sandboxes, url, log, staff, fee_type, center)
        booking = ekb.mutate("seed_booking", requisition_code=application["form"]["code"], category="flight",
                             amount="1280.00")  # fmt: skip
        print(f"合思 books the flight against it (order {booking['id']}, ¥1280.00); its message reaches the receiver")
        flow = ekb.mutate(
            "seed_claim", staff_code=staff, lines=lines, title="上海出差报销", state="approving", expense_date=day,
            via_ebot=True,
        )  # fmt: skip
        claim_no = flow["form"]["code"]
        ekb.mutate("corrupt_claim", code=claim_no, path="form.expenseLinks", value=[application["id"]])
        print(f"{staff} files the trip's claim {claim_no} (¥1636.50), linked to the application", flush=True)
        oa_approval(env, sandboxes, url, log, claim_no)
        print("airflow dags test claim_events (the budget check, the voucher, the accrual reversed) …", flush=True)
        airflow(env, "dags", "test", "claim_events", log=log)
        sandboxes.control("kingdee").mutate("audit_voucher", external_ref=claim_no)
        ekb.mutate("claim_action", code=claim_no, action="pay")
        print("the Kingdee accountant audits the voucher; 合思 pays the claim", flush=True)
        print("airflow dags test voucher_status_pull …", flush=True)
        airflow(env, "dags", "test", "voucher_status_pull", log=log)
    finally:
        receiver.terminate()
        receiver.wait(10)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT c.claim_no, c.state, c.total_amount, v.number, v.state, v.remote_id FROM fin.claim c "
            "JOIN fin.voucher v ON v.claim_id = c.claim_id WHERE c.claim_no = %s",
            (claim_no,),
        ).fetchone()
        events = conn.execute("SELECT count(*) FROM sync.event_inbox WHERE source = 'ekuaibao'").fetchone()[0]
        split = conn.execute(
            "SELECT sum(l.amount), sum(l.input_vat) FROM fin.claim_line l JOIN fin.claim c USING (claim_id) "
            "WHERE c.claim_no = %s",
            (claim_no,),
        ).fetchone()
        budget = conn.execute(
            "SELECT result, budget - used - reserved, budget FROM fin.budget_check WHERE subject = 'claim' "
            "AND subject_key = %s ORDER BY check_id DESC LIMIT 1",
            (claim_no,),
        ).fetchone()
        accrual = conn.execute(
            "SELECT v.external_ref, a.amount, a.state, r.external_ref FROM fin.accrual a "
            "JOIN fin.voucher v ON v.voucher_id = a.voucher_id "
            "LEFT JOIN fin.voucher r ON r.voucher_id = a.reversal_voucher_id ORDER BY a.accrual_id DESC LIMIT 1"
        ).fetchone()
        invoices = conn.execute(
            "SELECT t.name, i.invoice_no, i.total, i.deductible FROM fin.claim_invoice i JOIN fin.claim c "
            "USING (claim_id) JOIN mdm.invoice_type t ON t.code = i.invoice_type WHERE c.claim_no = %s "
            "ORDER BY i.line_no, i.seq",
            (claim_no,),
        ).fetchall()
    flow = next(f for f in ekb.state()["flows"] if f["form"]["code"] == claim_no)
    vouchers = [v for v in sandboxes.control("kingdee").state()["vouchers"] if v.get("F_ES_ExternalRef") == claim_no]
    print(f"\ntravel claim: {events} webhook events stored; claim {row[0]} ({row[2]} CNY) is {row[1]}")
    print(f"  Kingdee voucher id {row[5]}, number {row[3]} ({row[4]}); vouchers in Kingdee for it: {len(vouchers)}")
    print(f"  合思 document {claim_no}: voucherNo {flow['form']['voucherNo']!r}, {flow['form']['voucherStatus']}")
    print(f"  tax split of {claim_no}: {split[0]} CNY expense + {split[1]} CNY input VAT (进项税额) = {row[2]} CNY")
    print(f"  budget check in Kingdee before the voucher: {budget[0]} ({budget[1]} of {budget[2]} CNY available)")
    print(f"  the flight's accrual {accrual[0]} ({accrual[1]} CNY): {accrual[2]}, reversal {accrual[3]}")
    for name, invoice_no, total, deducted in invoices:
        print(f"    {name} {invoice_no}: {total} CNY, input VAT deducted {deducted} CNY")
    return claim_no


def month_end(env: dict[str, str], url: str, claim_no: str, docs: Path, sandboxes: SandboxCluster, log) -> None:
    """Step 6 of the module docstring: close the travel claim's month."""
    with psycopg.connect(url) as conn:
        period = conn.execute("SELECT period FROM fin.claim WHERE claim_no = %s", (claim_no,)).fetchone()[0]
    env = {**env, "AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR": "kingdee"}
    print(f"\nmonth end: airflow dags test expense_rollup_monthly (period {period}) …", flush=True)
    airflow(env, "dags", "test", "expense_rollup_monthly", "--conf", json.dumps({"period": period}), log=log)
    rollups = (
        "SELECT external_ref, number, total, state FROM fin.voucher WHERE kind = 'rollup' AND period = %s ORDER BY 1"
    )
    with psycopg.connect(url) as conn:
        drafts = [ref for ref, *_, state in conn.execute(rollups, (period,)) if state == "draft"]
    for ref in drafts:  # the pack calls the month reconciled only once the ERP approved its vouchers
        sandboxes.control("kingdee").mutate("audit_voucher", external_ref=ref)
    print(f"the Kingdee accountant audits {', '.join(drafts) or 'nothing'}; the month end again …", flush=True)
    airflow(env, "dags", "test", "expense_rollup_monthly", "--conf", json.dumps({"period": period}), log=log)
    with psycopg.connect(url) as conn:
        vouchers = conn.execute(rollups, (period,)).fetchall()
        status, open_items = conn.execute(
            "SELECT status, unexplained FROM fin.reconciliation WHERE period = %s ORDER BY reconciliation_id DESC "
            "LIMIT 1",
            (period,),
        ).fetchone()
    for ref, number, total, state in vouchers:
        print(f"  rollup voucher {ref}: Kingdee number {number}, {total} CNY (Dr expense / Cr clearing), {state}")
    print(f"  reconciliation of {period} with the Kingdee ledger: {status} (unexplained difference {open_items} CNY)")
    print(f"  auditors' pack (open in a browser): {(docs / 'auditors_pack' / period / 'index.html').as_uri()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="expense-sync's demo (make demo)")
    parser.add_argument("--database", default=DATABASE, help="the middle platform's database (recreated)")
    parser.add_argument("--workdir", type=Path, default=LOCAL, help="Airflow's home and the demo's log")
    parser.add_argument("--results", type=Path, default=ROOT / "great_expectations" / "uncommitted")
    args = parser.parse_args(argv)
    local, docs_dir = args.workdir, args.results
    local.mkdir(parents=True, exist_ok=True)
    server = LocalPostgres().start()
    server.drop_database(args.database)
    with psycopg.connect(server.server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.database)))
    url = server.url(args.database)
    options = {"dingtalk": {"seed": 42, "departments": 40, "employees": 400}}
    try:
        with (
            SandboxCluster(["dingtalk", "ekuaibao", "kingdee"], options=options) as sandboxes,
            open(local / "demo.log", "wb") as log,
        ):
            for userid, field, value in BAD_RECORDS:
                sandboxes.control("dingtalk").mutate("set_person", userid=userid, **{field: value})
            env = {
                **os.environ,
                "AIRFLOW_HOME": str(local / "airflow"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
                "AIRFLOW_CONN_MDM_POSTGRES": url,
                "AIRFLOW_CONN_OA_DINGTALK": sandboxes.connection("oa_dingtalk", rate_limit_qps=50),
                "AIRFLOW_CONN_EXPENSE_EKUAIBAO": sandboxes.connection(
                    "expense_ekuaibao",
                    rate_limit_qps=50,
                    outbound_path_tokens=[OUTBOUND_PATH_TOKEN],
                    outbound_sign_keys=[OUTBOUND_SIGN_KEY],
                    booking_entity_id=ORDER_ENTITY,
                ),
                "AIRFLOW_CONN_ERP_KINGDEE": sandboxes.connection("erp_kingdee", rate_limit_qps=50),
                "AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": "dingtalk",
                "EXPENSE_SYNC_GX_RESULTS_DIR": str(docs_dir),
            }
            print("migrating the Airflow metadata database (SQLite under .local/airflow) …", flush=True)
            airflow(env, "db", "migrate", log=log)
            print("day 1: airflow dags test org_sync_daily …", flush=True)
            airflow(env, "dags", "test", "org_sync_daily", log=log)
            churn = sandboxes.control("dingtalk").mutate("churn", fraction=0.02)
            print(f"the OA changes overnight: {churn}", flush=True)
            print("day 2: airflow dags test org_sync_daily …", flush=True)
            airflow(env, "dags", "test", "org_sync_daily", log=log)
            summarize(url, docs_dir / "data_docs" / "local_site" / "index.html")
            claim_no = travel_claim(env, sandboxes, url, log)
            month_end(env, url, claim_no, docs_dir, sandboxes, log)
        print(f"Airflow's own output: {local / 'demo.log'}")
    finally:
        if server.cluster_dir:  # a throwaway cluster goes away with the demo
            server.stop()


if __name__ == "__main__":
    main()
