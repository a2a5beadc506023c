"""Benchmark: the weekly chart sync on 20 000 GL accounts, 20 000 expense items and 5 000 cost centers
per ERP (Kingdee, Yonyou, SAP), then a quiet week.

For each ERP, its sandbox and 合思's run in a child process, both rate-limited at ``--qps``, and the
hooks' client-side limit is the same QPS. The steps of expense_category_sync_weekly that move the
data — extract, merge, read 合思, map categories, push cost centers and projects — run in one Python
process of their own (so that its peak RSS is ours alone), calling exactly what the DAG's tasks call.
SAP has no expense-item master: its 20 000 G/L accounts are its expense items too.

Printed per ERP and run: API calls per vendor and throttled calls, seconds per step, the API steps'
time against their rate-limit floor (calls ÷ allowed QPS), rows per second into PostgreSQL (staged
rows by the extract, canonical rows written by the merge), items written to 合思, peak RSS.

The sandbox 合思 is reset with ``unique_item_names`` off: the sandbox ERPs' synthetic charts repeat
cost-center names at one level, which a real tenant's would not and 合思 refuses (that rule is tested
in tests/include/sandboxes/test_ekuaibao_dimensions.py).

    python bench/erp_chart.py [--vendors kingdee yonyou sap] [--accounts 20000] [--cost-centers 5000] [--qps 50]
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
VENDORS = ("kingdee", "yonyou", "sap")


# -- the steps, in their own process (what the DAG's tasks run) -------------------------------------
def run_steps(vendor: str, run_key: str) -> None:
    from expense_sync.chart.categories import reconcile_categories
    from expense_sync.chart.expense_side import read_expense_side
    from expense_sync.chart.extract import extract_chart
    from expense_sync.chart.merge import merge_chart
    from expense_sync.chart.push import push_dimensions
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.store.db import connect

    seconds, calls = {}, {}
    with connect() as conn:
        erp, ekb = erp_hook(vendor), EkuaibaoHook()

        def timed(step, hook, work):
            before = hook.stats["calls"] if hook else 0
            started = time.monotonic()
            result = work()
            seconds[step] = round(time.monotonic() - started, 2)
            calls[step] = hook.stats["calls"] - before if hook else 0
            return result

        extracted = timed("extract", erp, lambda: extract_chart(conn, erp, run_key))
        merged = timed("merge", None, lambda: merge_chart(conn, extracted["loads"], run_key))
        expense = timed("read_expense_side", ekb, lambda: read_expense_side(conn, ekb, run_key))
        categories = timed("categories", None, lambda: reconcile_categories(conn, run_key))
        pushed = timed("push", ekb, lambda: push_dimensions(conn, ekb, run_key, expense["dimensions"]))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "calls": calls,
                "staged": sum(load["rows"] for load in extracted["loads"].values()),
                "merge": merged,
                "categories": categories["states"],
                "push": {k: v for k, v in pushed.items() if k != "api_calls"},
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            default=str,
        )
    )


# -- the driver -------------------------------------------------------------------------------------
def sandbox_options(vendor: str, args: argparse.Namespace) -> dict:
    if vendor == "sap":
        return {"seed": 1, "gl_accounts": args.accounts, "cost_centers": args.cost_centers, "projects": args.projects}
    return {
        "seed": 1,
        "accounts": args.accounts,
        "expense_items": args.items,
        "cost_centers": args.cost_centers,
        "projects": args.projects,
    }


def one_run(env: dict, sandboxes, vendor: str, qps: float, label: str) -> dict:
    controls = {"erp": sandboxes.control(vendor), "ekuaibao": sandboxes.control("ekuaibao")}
    before = {k: c.stats()["calls"] for k, c in controls.items()}
    started = time.monotonic()
    done = launcher.run([sys.executable, __file__, "--run", vendor, "--run-key", f"bench/{vendor}/{label}"], env)
    wall = round(time.monotonic() - started, 2)
    if done.returncode:
        raise SystemExit(f"{vendor} {label}: failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    after = {k: c.stats()["calls"] for k, c in controls.items()}
    delta = {k: {key: after[k].get(key, 0) - before[k].get(key, 0) for key in ("total", "throttled")} for k in after}
    seconds, calls = figures["seconds"], figures["calls"]
    api_seconds = seconds["extract"] + seconds["read_expense_side"] + seconds["push"]
    api_calls = calls["extract"] + calls["read_expense_side"] + calls["push"]
    canonical = sum(m.get(k, 0) for m in figures["merge"].values() for k in ("created", "updated", "deactivated"))
    writes = sum(n for e in ("cost_center", "project") for k, n in figures["push"][e].items() if k != "unchanged")
    return {
        "label": label,
        "wall_s": wall,
        **figures,
        "sandbox_calls": delta,
        "api_floor_s": round(api_calls / qps, 2),
        "api_vs_floor": round(api_seconds / (api_calls / qps), 3) if api_calls else None,
        "staged_rows_per_s": round(figures["staged"] / seconds["extract"]) if seconds["extract"] else None,
        "canonical_writes": canonical,
        "merge_rows_per_s": round(canonical / seconds["merge"]) if seconds["merge"] else None,
        "items_written": writes,
    }


def report(vendor: str, run: dict) -> None:
    calls, seconds = run["calls"], run["seconds"]
    print(f"\n{vendor} — {run['label']}: {run['wall_s']} s in all (with the process start-up)")
    print(f"  seconds per step: {seconds}")
    print(
        f"  API calls: ERP {calls['extract']}, 合思 {calls['read_expense_side'] + calls['push']} "
        f"(sandboxes saw {run['sandbox_calls']['erp']['total']} / {run['sandbox_calls']['ekuaibao']['total']}, "
        f"throttled {run['sandbox_calls']['erp']['throttled'] + run['sandbox_calls']['ekuaibao']['throttled']}); "
        f"rate-limit floor {run['api_floor_s']} s, the API steps took {run['api_vs_floor']}× it"
    )
    print(
        f"  PostgreSQL: {run['staged']} rows staged ({run['staged_rows_per_s']} rows/s with the extract), "
        f"{run['canonical_writes']} canonical writes ({run['merge_rows_per_s']} rows/s in the merge)"
    )
    print(f"  合思: {run['items_written']} items written {json.dumps(run['push'], ensure_ascii=False)}")
    print(f"  categories {run['categories']}; peak RSS {run['peak_rss_mb']} MB")


def bench_vendor(vendor: str, args: argparse.Namespace, server) -> list[dict]:
    import psycopg

    from expense_sync.store.migrate import migrate
    from expense_sync_sandboxes.cluster import SandboxCluster

    database = server.create_database(f"expense_sync_bench_{vendor}")
    url = server.url(database)
    options = {
        vendor: {**sandbox_options(vendor, args), "qps": args.qps},
        "ekuaibao": {"qps": args.qps, "unique_item_names": False},
    }
    try:
        with SandboxCluster([vendor, "ekuaibao"], options=options) as sandboxes, psycopg.connect(url) as conn:
            conn.autocommit = True
            migrate(conn)
            extra = {"rate_limit_qps": args.qps, "timeout": 120}
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include" / "sandboxes")]),
                "AIRFLOW_HOME": tempfile.mkdtemp(prefix="expense-sync-bench-"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
                "AIRFLOW_CONN_MDM_POSTGRES": url,
                f"AIRFLOW_CONN_ERP_{vendor.upper()}": sandboxes.connection(f"erp_{vendor}", **extra),
                "AIRFLOW_CONN_EXPENSE_EKUAIBAO": sandboxes.connection("expense_ekuaibao", **extra),
            }
            runs = [one_run(env, sandboxes, vendor, args.qps, label) for label in ("first sync", "a quiet week")]
    finally:
        server.drop_database(database)
    for run in runs:
        report(vendor, run)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", nargs="+", choices=VENDORS, default=list(VENDORS))
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=20_000, help="expense items (Kingdee, Yonyou)")
    parser.add_argument("--cost-centers", type=int, default=5_000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--qps", type=float, default=50.0, help="the sandboxes' rate limit (and the client's)")
    parser.add_argument("--run", choices=VENDORS, help=argparse.SUPPRESS)
    parser.add_argument("--run-key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for path in (ROOT / "plugins", ROOT / "include" / "sandboxes"):
        sys.path.insert(0, str(path))
    if args.run:
        run_steps(args.run, args.run_key)
        return

    launcher.start()  # while this driver is small: its children's peak RSS is their own
    from expense_sync_sandboxes.postgres import LocalPostgres

    print(
        f"ERP chart benchmark: {args.accounts} GL accounts, {args.items} expense items, {args.cost_centers} cost "
        f"centers, {args.projects} projects; rate limit {args.qps:g} QPS at each vendor (and in the client)"
    )
    server = LocalPostgres().start()
    try:
        results = {vendor: bench_vendor(vendor, args, server) for vendor in args.vendors}
    finally:
        server.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "erp_chart.json").write_text(
        json.dumps({"args": vars(args), "results": results}, indent=2, ensure_ascii=False, default=str),
        encoding="utf-8",
    )
    print(f"\nfigures saved to {OUT / 'erp_chart.json'}")


if __name__ == "__main__":
    main()
