"""Benchmark: claim vouchers per minute into each ERP sandbox at its rate limit, and calls per voucher.

For each ERP, its sandbox runs in a child process rate-limited at ``--qps`` (the hook's client-side
limit is the same). ``--claims`` valid claims (two lines each, on cost centers of the ERP's own chart)
are put in ``fin.claim`` as ``voucher_pending``; then, in a Python process of its own, exactly what
claim_events' ``post_vouchers`` task runs (outbound ledger row committed before each call), and after
the ERP accountant has audited them (control API, not timed), what voucher_status_pull's status pull
runs. Printed per ERP: vouchers per minute, API calls per voucher (the hook's count and the
sandbox's), throttled calls, seconds, and the rate-limit floor (calls ÷ QPS).

    python bench/vouchers.py [--vendors kingdee yonyou sap] [--claims 200] [--qps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import launcher  # bench/launcher.py (this script's directory is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENDORS = ("kingdee", "yonyou", "sap")


# -- the steps, in their own process --------------------------------------------------------------
def run_step(vendor: str, step: str) -> None:
    from expense_sync.claims.post import post_vouchers
    from expense_sync.claims.status import open_vouchers, pull_status
    from expense_sync.erp.accounts import posting_accounts
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.store.db import connect

    erp = erp_hook(vendor)
    started = time.monotonic()
    with connect() as conn:
        if step == "post":
            counts = post_vouchers(conn, erp, posting_accounts(vendor, "{}"), f"bench/{vendor}")
        else:
            counts = pull_status(conn, erp, open_vouchers(conn))
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": round(seconds, 2), "counts": counts, "calls": erp.stats["calls"]}))


# -- the driver -----------------------------------------------------------------------------------
def seed_claims(conn, vendor: str, n: int, cost_centers: list[str]) -> None:
    """``n`` valid claims waiting for their voucher (what validate_claims leaves), two lines each."""
    from expense_sync.claims.company import claim_company

    conn.execute(
        """INSERT INTO fin.claim (claim_no, flow_id, company, employee_no, title, claim_date, period, currency,
                                 total_amount, expense_state, state, content_hash, raw)
           SELECT 'BX' || lpad(i::text, 6, '0'), 'flow-' || i, %s, 'E' || i, '差旅报销', current_date,
                  to_char(current_date, 'YYYY-MM'), 'CNY', 1000.00 + i, 'paid', 'voucher_pending', md5(i::text), '{}'
             FROM generate_series(1, %s) i""",
        (claim_company(vendor, "{}"), n),
    )
    conn.execute(
        """INSERT INTO fin.claim_line (claim_id, line_no, fee_type_code, gl_account, cost_center, amount, description)
           SELECT c.claim_id, l, 'FT', '6602', (%s::text[])[1 + (c.claim_id + l) %% cardinality(%s::text[])],
                  CASE l WHEN 1 THEN 800.00 ELSE c.total_amount - 800.00 END, '出差'
             FROM fin.claim c CROSS JOIN generate_series(1, 2) l""",
        (cost_centers, cost_centers),
    )


def audit_all(conn, sandboxes, vendor: str) -> None:
    control = sandboxes.control(vendor)
    for ref, remote_id in conn.execute("SELECT external_ref, remote_id FROM fin.voucher").fetchall():
        if vendor == "kingdee":
            control.mutate("audit_voucher", external_ref=ref)
        elif vendor == "yonyou":
            control.mutate("audit_voucher", voucher_id=remote_id)


def one_step(env: dict, control, vendor: str, step: str, qps: float) -> dict:
    before = control.stats()["calls"]
    done = launcher.run([sys.executable, __file__, "--run", vendor, "--step", step], env)
    if done.returncode:
        raise SystemExit(f"{vendor} {step}: failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    after = control.stats()["calls"]
    figures["sandbox_calls"] = after.get("total", 0) - before.get("total", 0)
    figures["throttled"] = after.get("throttled", 0) - before.get("throttled", 0)
    figures["floor_s"] = round(figures["calls"] / qps, 2)
    return figures


def bench_vendor(vendor: str, args: argparse.Namespace, server) -> dict:
    import psycopg

    from expense_sync.store.migrate import migrate
    from expense_sync_sandboxes.cluster import SandboxCluster

    database = server.create_database(f"expense_sync_bench_vouchers_{vendor}")
    url = server.url(database)
    try:
        with (
            SandboxCluster([vendor], options={vendor: {"seed": 1, "qps": args.qps}}) as sandboxes,
            psycopg.connect(url, autocommit=True) as conn,
        ):
            migrate(conn)
            extra = {"rate_limit_qps": args.qps, "timeout": 60}
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include" / "sandboxes")]),
                "AIRFLOW_HOME": tempfile.mkdtemp(prefix="expense-sync-bench-"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
                "AIRFLOW_CONN_MDM_POSTGRES": url,
                f"AIRFLOW_CONN_ERP_{vendor.upper()}": sandboxes.connection(f"erp_{vendor}", **extra),
            }
            os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW_")})
            from expense_sync.hooks.registry import erp_hook

            cost_centers = sorted(r.code for r in erp_hook(vendor).chart("cost_center") if r.active)[:20]
            seed_claims(conn, vendor, args.claims, cost_centers)
            control = sandboxes.control(vendor)
            post = one_step(env, control, vendor, "post", args.qps)
            audit_all(conn, sandboxes, vendor)
            pull = one_step(env, control, vendor, "pull", args.qps)
            held = conn.execute("SELECT count(*), count(number) FROM fin.voucher").fetchone()
    finally:
        server.drop_database(database)
    n = args.claims
    result = {
        "vouchers": held[0],
        "numbered": held[1],
        "post": post,
        "pull": pull,
        "vouchers_per_min": round(n / post["seconds"] * 60, 1),
        "calls_per_voucher": round(post["calls"] / n, 2),
        "pull_calls_per_voucher": round(pull["calls"] / n, 2),
    }
    print(
        f"\n{vendor}: {n} claims → {held[0]} vouchers ({held[1]} numbered) in {post['seconds']} s = "
        f"{result['vouchers_per_min']} vouchers/min at {args.qps:g} QPS; {result['calls_per_voucher']} calls per "
        f"voucher (sandbox saw {post['sandbox_calls']}, throttled {post['throttled']}; floor {post['floor_s']} s)"
    )
    print(
        f"  status pull after audit: {pull['seconds']} s, {result['pull_calls_per_voucher']} calls per voucher "
        f"{json.dumps(pull['counts'])} (floor {pull['floor_s']} s, throttled {pull['throttled']})"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", nargs="+", choices=VENDORS, default=list(VENDORS))
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--qps", type=float, default=20.0, help="the sandbox's rate limit (and the client's)")
    parser.add_argument("--run", choices=VENDORS, help=argparse.SUPPRESS)
    parser.add_argument("--step", choices=("post", "pull"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    for path in (ROOT / "plugins", ROOT / "include" / "sandboxes"):
        sys.path.insert(0, str(path))
    if args.run:
        run_step(args.run, args.step)
        return

    launcher.start()  # while this driver is small: its children's peak RSS is their own
    from expense_sync_sandboxes.postgres import LocalPostgres

    print(f"claim voucher benchmark: {args.claims} claims per ERP, rate limit {args.qps:g} QPS (sandbox and client)")
    server = LocalPostgres().start()
    try:
        results = {vendor: bench_vendor(vendor, args, server) for vendor in args.vendors}
    finally:
        server.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vouchers.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2), encoding="utf-8")
    print(f"\nfigures saved to {OUT / 'vouchers.json'}")


if __name__ == "__main__":
    main()
