"""Benchmark: month end on a month of 1 000 000 claim lines (200 000 claims) — rollup, posting,
reconciliation, the month-end suites and the auditors' pack.

Setup (not timed): a fresh migrated database; the period's claims, their lines and their claim
vouchers (``fin.voucher`` kind ``claim``, audited, numbered) generated in PostgreSQL with
``generate_series``, i.e. the state claim_events + voucher_status_pull leave behind; the Kingdee
sandbox in a child process, holding those 200 000 claim vouchers: read back from ``fin.voucher``,
made into the Save models the Kingdee hook sends (``voucher_model``) and bulk-seeded under their
ids and numbers, audited (the sandbox's ``seed_vouchers``, as if posted one by one). The stages then
run in a Python process of their own (its peak RSS is ours alone), calling exactly what the DAG's
tasks call:

* ``rollup``: the SQL aggregation per company / GL account / cost center / project, composing the
  balanced vouchers and posting them to the sandbox over HTTP through the outbound ledger;
* ``rollup_rerun``: the same month again (must send nothing);
* ``reconcile``: the ERP balances over HTTP, the three-way comparison per account / cost center /
  project and claim by claim in PostgreSQL, the conflict queue;
* ``suites``: the GX checkpoint ``monthend`` (vouchers, rollup, reconciliation) and its Data Docs;
* ``pack``: the auditors' pack (HTML + four CSVs, the chain one row per claim line).

ExecuteBillQuery pages are 10 000 rows (the sandbox's ``max_limit`` and the connection's
``page_size``; 2 000 by default): the reconciliation reads the period's 1.2 M voucher entries once,
for both the balances and the voucher list (``period_ledger``).

``--perturb`` seeds one claim voucher with its first line and its payable 1.00 lower than the
platform posted them: the month must then end in differences (``missing_in_erp``), which shows that
the reconciliation compares the ERP's vouchers and does not just agree.

    python bench/monthend.py [--claims 200000] [--lines-per-claim 5] [--perturb]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import launcher  # bench/launcher.py (this script's directory is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PERIOD = "2025-03"
COMPANY = "001"
ACCOUNTS = ["6602.01", "6602.02", "6602.03"]
COST_CENTERS = ["BM000007", "BM000011", "BM000014", "BM000003", "BM000005", "BM000009"]
PROJECTS = ["XM2024001", "XM2024006", None]

SEED_SQL = """
INSERT INTO fin.claim (claim_no, flow_id, company, employee_no, title, claim_date, period, currency, total_amount,
                       expense_state, state, content_hash, raw, closed_at)
SELECT 'BX' || lpad(g::text, 7, '0'), 'FL' || g, %(company)s, 'E' || (g %% 5000), '差旅报销',
       %(start)s::date + (g %% 28), %(period)s, 'CNY', 0, 'paid', 'closed', md5(g::text), '{}', now()
FROM generate_series(1, %(claims)s) g;

INSERT INTO fin.claim_line (claim_id, line_no, fee_type_code, gl_account, cost_center, project, amount)
SELECT c.claim_id, n, 'FT01',
       (%(accounts)s::text[])[1 + (c.claim_id + n) %% cardinality(%(accounts)s::text[])],
       (%(centers)s::text[])[1 + (c.claim_id * 7 + n) %% cardinality(%(centers)s::text[])],
       (%(projects)s::text[])[1 + (c.claim_id * 3 + n) %% cardinality(%(projects)s::text[])],
       ((c.claim_id * 7919 + n * 104729) %% 500000) / 100.0 + 0.01
FROM fin.claim c CROSS JOIN generate_series(1, %(lines)s) n;

UPDATE fin.claim c SET total_amount = s.total
FROM (SELECT claim_id, sum(amount) AS total FROM fin.claim_line GROUP BY 1) s WHERE s.claim_id = c.claim_id;

INSERT INTO fin.voucher (erp_vendor, external_ref, kind, claim_id, company, period, posting_date, total, lines,
                         remote_id, number, state, raw_state)
SELECT 'kingdee', c.claim_no, 'claim', c.claim_id, c.company, c.period, c.claim_date, c.total_amount,
       l.lines || jsonb_build_array(jsonb_build_object('account', %(payable)s, 'debit', '0.00',
                 'credit', c.total_amount::text, 'cost_center', NULL, 'project', NULL, 'text', c.employee_no)),
       (1000000 + c.claim_id)::text, '记-' || c.claim_id, 'audited', 'C'
FROM fin.claim c
JOIN (SELECT claim_id, jsonb_agg(jsonb_build_object('account', %(clearing)s, 'debit', amount::text, 'credit', '0.00',
                                                   'cost_center', cost_center, 'project', project, 'text', '')
                                 ORDER BY line_no) AS lines
      FROM fin.claim_line GROUP BY 1) l USING (claim_id);
ANALYZE fin.claim; ANALYZE fin.claim_line; ANALYZE fin.voucher;
"""
CLAIM_VOUCHERS_SQL = """
SELECT v.external_ref, v.company, v.period, v.posting_date, v.lines, c.claim_no, c.title, v.remote_id, v.number
FROM fin.voucher v JOIN fin.claim c USING (claim_id)
WHERE v.erp_vendor = 'kingdee' AND v.kind = 'claim' AND v.period = %s AND v.state = 'audited'
ORDER BY v.remote_id::bigint
"""
SEED_CHUNK = 5000  # vouchers per seed_vouchers call
PAGE = 10_000  # ExecuteBillQuery rows per page: the sandbox's cap (max_limit) and the connection's page_size


def seed_erp(sandbox_url: str, perturb: bool) -> None:
    """Hold the claim vouchers ``fin.voucher`` says were posted in the sandbox ERP, as the hook's Save
    models under their ids and numbers, audited (``--perturb``: one of them 1.00 short)."""
    from decimal import Decimal

    from expense_sync.erp.posting import voucher_from_row
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.store.db import connect
    from expense_sync_sandboxes.cluster import SandboxControl

    hook, control, batch, seeded = erp_hook("kingdee"), SandboxControl(sandbox_url), [], 0
    with connect() as conn, conn.transaction(), conn.cursor(name="claim_vouchers") as cur:
        cur.itersize = SEED_CHUNK
        cur.execute(CLAIM_VOUCHERS_SQL, (PERIOD,))
        for ref, company, period, day, lines, claim_no, title, remote_id, number in cur:
            if perturb and not seeded and not batch and Decimal(lines[0]["debit"]) > 1:
                lines = [dict(line) for line in lines]
                for line, side in ((lines[0], "debit"), (lines[-1], "credit")):
                    line[side] = str(Decimal(line[side]) - 1)
                print(f"perturbed: claim voucher {ref} seeded with its first line and payable 1.00 lower")
            voucher = voucher_from_row(ref, company, period, day, lines, f"报销 {claim_no} {title}"[:80])
            model = hook.voucher_model(voucher)
            batch.append({"id": int(remote_id), "number": int(number.rpartition("-")[2]), "state": "C", "model": model})
            if len(batch) == SEED_CHUNK:
                seeded += control.mutate("seed_vouchers", vouchers=batch)["seeded"]
                batch = []
        if batch:
            seeded += control.mutate("seed_vouchers", vouchers=batch)["seeded"]
    print(json.dumps({"seeded": seeded}))


def run_stages(results_dir: str) -> None:
    """The timed stages, in their own process."""
    from expense_sync.erp.accounts import posting_accounts
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.monthend.pack import build_pack
    from expense_sync.monthend.reconcile import reconcile_period
    from expense_sync.monthend.rollup import rollup_period
    from expense_sync.quality.checkpoint import DataHealthCheckFailed, docs_index, run_checkpoint
    from expense_sync.store.db import connect

    accounts = posting_accounts("kingdee", "{}")
    seconds, rss, out = {}, {}, {}

    def timed(stage, work):
        started = time.monotonic()
        result = work()
        seconds[stage] = round(time.monotonic() - started, 2)
        rss[stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return result

    with connect() as conn:
        hook = erp_hook("kingdee")
        out["rollup"] = timed("rollup", lambda: rollup_period(conn, hook, PERIOD, accounts, "bench/1"))
        out["rerun"] = timed("rollup_rerun", lambda: rollup_period(conn, hook, PERIOD, accounts, "bench/2"))
        out["reconcile"] = timed("reconcile", lambda: reconcile_period(conn, hook, PERIOD, accounts, "bench/1"))

        def suites():
            try:
                return run_checkpoint("monthend", run_name="bench")["suites"]
            except DataHealthCheckFailed as failed:
                return {"failed": sorted({f["suite"] for f in failed.failures})}

        out["suites"] = timed("suites", suites)
        root = Path(results_dir) / "auditors_pack"
        timed("pack", lambda: build_pack(conn, PERIOD, "kingdee", accounts, root, docs_site=docs_index().parent))
        out["pack_bytes"] = sum(p.stat().st_size for p in (root / PERIOD).iterdir())
        out["erp_calls"] = hook.stats["calls"]
    print(json.dumps({"seconds": seconds, "peak_rss_mb": rss, "results": out}, default=str, ensure_ascii=False))


def peak_rss_mb(pid: int | None) -> float | None:
    """A process's peak RSS (Linux ``VmHWM``), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return None
    kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return round(int(kb) / 1024, 1) if kb else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--lines-per-claim", type=int, default=5)
    parser.add_argument("--perturb", action="store_true", help="seed one claim voucher 1.00 short in the ERP")
    parser.add_argument("--run", metavar="RESULTS_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--seed-erp", metavar="SANDBOX_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for path in (ROOT / "plugins", ROOT / "include" / "sandboxes"):
        sys.path.insert(0, str(path))
    if args.run:
        run_stages(args.run)
        return
    if args.seed_erp:
        seed_erp(args.seed_erp, args.perturb)
        return

    launcher.start()  # while this driver is small: its children's peak RSS is their own
    import psycopg

    from expense_sync.erp.accounts import posting_accounts
    from expense_sync.store.migrate import migrate
    from expense_sync_sandboxes.cluster import SandboxCluster
    from expense_sync_sandboxes.postgres import LocalPostgres

    lines = args.claims * args.lines_per_claim
    print(f"month-end benchmark: {args.claims} claims, {lines} claim lines in {PERIOD} (Kingdee sandbox)")
    accounts = posting_accounts("kingdee", "{}")
    server = LocalPostgres().start()
    database = server.create_database("expense_sync_bench_monthend")
    url = server.url(database)
    results_dir = tempfile.mkdtemp(prefix="expense-sync-bench-gx-")
    try:
        with SandboxCluster(["kingdee"]) as sandboxes, psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
            sandboxes.control("kingdee").reset(max_limit=PAGE)
            started = time.monotonic()
            params = {
                "company": COMPANY,
                "start": f"{PERIOD}-01",
                "period": PERIOD,
                "claims": args.claims,
                "lines": args.lines_per_claim,
                "accounts": ACCOUNTS,
                "centers": COST_CENTERS,
                "projects": PROJECTS,
                "clearing": accounts.clearing,
                "payable": accounts.employee_payable,
            }
            for statement in SEED_SQL.split(";\n"):
                if statement.strip():
                    psycopg.ClientCursor(conn).execute(statement, params if "%(" in statement else None)
            print(f"setup: claims, lines and claim vouchers generated in {time.monotonic() - started:.1f} s")
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include" / "sandboxes")]),
                "AIRFLOW_HOME": tempfile.mkdtemp(prefix="expense-sync-bench-"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
                "AIRFLOW_CONN_MDM_POSTGRES": url,
                "AIRFLOW_CONN_ERP_KINGDEE": sandboxes.connection("erp_kingdee", timeout=120, page_size=PAGE),
                "EXPENSE_SYNC_GX_RESULTS_DIR": results_dir,
            }
            started = time.monotonic()
            seed = [sys.executable, __file__, "--seed-erp", sandboxes.url("kingdee")] + ["--perturb"] * args.perturb
            done = launcher.run(seed, env)
            if done.returncode:
                raise SystemExit(f"seeding the ERP failed:\n{done.stderr[-3000:]}")
            for line in done.stdout.strip().splitlines()[:-1]:
                print(line)
            seeded = json.loads(done.stdout.strip().splitlines()[-1])["seeded"]
            print(f"setup: {seeded} claim vouchers seeded into the sandbox ERP in {time.monotonic() - started:.1f} s")
            started = time.monotonic()
            done = launcher.run([sys.executable, __file__, "--run", results_dir], env)
            wall = round(time.monotonic() - started, 2)
            if done.returncode:
                raise SystemExit(f"failed:\n{done.stderr[-3000:]}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            sandbox_rss = peak_rss_mb(sandboxes.process.pid if sandboxes.process else None)
    finally:
        server.drop_database(database)
        server.stop()
    seconds, rss = figures["seconds"], figures["peak_rss_mb"]
    stages = sum(seconds.values())
    print(f"process wall time {wall} s (with the start-up and imports); stages {stages:.2f} s (target ≤ 60 s)")
    for stage, took in seconds.items():
        print(f"  {stage:<13} {took:>7.2f} s   peak RSS so far {rss[stage]:>7.1f} MB")
    print(f"peak RSS {max(rss.values())} MB (target ≤ 1024 MB); the sandbox ERP's process: {sandbox_rss} MB")
    results = figures["results"]
    for rolled in results["rollup"]:
        print(
            f"rollup: {rolled['action']} {rolled['claims']} claims, {rolled['summary_lines']} summary lines, "
            f"total {rolled['total']}, vouchers {rolled['vouchers']}"
        )
    print(
        f"re-run: {[r['action'] for r in results['rerun']]} (vouchers sent {[r['vouchers'] for r in results['rerun']]})"
    )
    for rec in results["reconcile"]:
        print(
            f"reconciliation: {rec['status']}; claims {rec['claims']} total {rec['claims_total']}, posted "
            f"{rec['posted_total']}, ledger {rec['ledger_total']}; explained {rec['explained']}, unexplained "
            f"{rec['unexplained']}; vouchers missing {len(rec['vouchers_missing'])} {rec['vouchers_missing'][:3]}"
        )
    print(f"suites: {results['suites']}; pack {results['pack_bytes'] / 1e6:.1f} MB; ERP calls {results['erp_calls']}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "monthend.json").write_text(
        json.dumps(
            {"args": vars(args), "wall_s": wall, "sandbox_peak_rss_mb": sandbox_rss, **figures},
            indent=2,
            ensure_ascii=False,
            default=str,
        ),
        encoding="utf-8",
    )
    print(f"figures saved to {OUT / 'monthend.json'}")


if __name__ == "__main__":
    main()
