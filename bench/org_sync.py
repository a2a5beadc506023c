"""Benchmark: the org sync on 100 000 employees and 5 000 departments, then a day with 1 % changes.

The day's changes reach the package as they would in production: the OA sandbox pushes each one as
its contact-change event (DingTalk 通讯录事件, WeCom change_contact), sealed, to the webhook receiver
(served in this process), which stores them in the inbox; the day's extract reads only what they name
(``expense_sync.org.changes``). Printed for that day: its OA calls against the full run's and against
the fewest its events allow (one read per person and department named, a token).

The OA and 合思 sandboxes run in a child process, both rate-limited at ``--qps``, and the hooks'
client-side limit is set to the same QPS. Each step of org_sync_daily — extract, merge, the GX
health check, push — runs in its own Python process, as Airflow runs each task in its own process,
so that its peak RSS can be measured; the steps call exactly what the DAG's tasks call.

Printed per run: API calls and throttled calls per vendor, wall time per step, each API step's time
against its rate-limit floor (calls ÷ allowed QPS), the OA's calls against the fewest its documented
API allows (``minimum_calls``) and which department listing was used, canonical rows written per
second by the merge,
peak RSS per step; then the 1 % day's cost relative to the full run (canonical writes, records
pushed, write calls, OA calls). Targets (issue 2): ≤ 1.15 × the floor, zero throttled calls,
≤ 400 MB, a 1 % day ≤ 3 % of the full run's writes and pushes; (issue 15) its OA calls ≤ 3 % of the
full run's.

    make bench      # or: python bench/org_sync.py --employees 100000 --departments 5000 --qps 200
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
import oa_events

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
STEPS = ("extract", "merge", "check", "push")


# -- one step, in its own process (what the DAG task runs) ------------------------------------------
def run_step(step: str, run_key: str, state_file: Path) -> None:
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.hooks.registry import oa_hook
    from expense_sync.org.changes import read_directory
    from expense_sync.org.merge import merge_directory
    from expense_sync.org.push import push_directory
    from expense_sync.store.db import connect
    from expense_sync.store.runs import record_step

    if step == "check":
        from expense_sync.quality.checkpoint import run_checkpoint
    state = json.loads(state_file.read_text())
    with connect() as conn:  # imports done and connected: from here on it is the step's own work
        started = time.monotonic()
        if step == "extract":
            result = read_directory(conn, oa_hook(os.environ["AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR"]), run_key)
            state["loads"] = result["loads"]
            record_step(conn, run_key, "extract", {key: result[key] for key in ("rows", "api", "read")})
        elif step == "merge":
            record_step(conn, run_key, "merge", merge_directory(conn, state["loads"], run_key))
        elif step == "check":
            run_checkpoint("org_sync", run_name=run_key.replace("/", "_"))
        elif step == "push":
            record_step(conn, run_key, "push", push_directory(conn, EkuaibaoHook(), run_key))
        work = time.monotonic() - started
    state_file.write_text(json.dumps(state))
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "work_s": work}))


# -- the driver -------------------------------------------------------------------------------------
def minimum_calls(oa: str, state: dict) -> int:
    """The fewest OA calls that read the whole directory with the vendor's documented API
    (docs/vendors/dingtalk.md "Calls per daily sync: the minimum", docs/vendors/wecom.md): DingTalk,
    a token, the root, the tree in one ``department/list``, then ``user/list`` pages of 100 per
    department; WeCom, a token, ``department/list`` and one unpaged ``user/list`` per department."""
    members: dict[int, int] = {}
    for person in state["people"]:
        for dept in person["dept_ids"]:
            members[dept] = members.get(dept, 0) + 1
    departments = [d["id"] for d in state["departments"]]
    if oa == "dingtalk":
        return 3 + sum(max(1, -(-members.get(d, 0) // 100)) for d in departments)
    return 2 + len(departments)


def write_calls(stats: dict) -> int:
    reads = {"POST /api/openapi/v1/auth/getAccessToken", "POST /api/openapi/v1/staffs/getStaffIds"}
    return sum(n for k, n in stats["calls"].items() if k.split(" ")[0] in ("POST", "PUT") and k not in reads)


def sync_once(env: dict, sandboxes, conn, oa: str, qps: float, label: str, run_key: str) -> dict:
    state_file = Path(tempfile.mkstemp(prefix="expense-sync-bench-")[1])
    state_file.write_text("{}")
    controls = {"oa": sandboxes.control(oa), "ekuaibao": sandboxes.control("ekuaibao")}
    before = {k: c.stats() for k, c in controls.items()}
    minimum = minimum_calls(oa, controls["oa"].state())
    seconds, work, rss = {}, {}, {}
    for step in STEPS:
        started = time.monotonic()
        done = launcher.run(
            [sys.executable, __file__, "--step", step, "--run-key", run_key, "--state", str(state_file)], env
        )
        seconds[step] = round(time.monotonic() - started, 2)
        if done.returncode:
            raise SystemExit(f"{label}: step {step} failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rss[step], work[step] = round(figures["peak_rss_mb"], 1), round(figures["work_s"], 2)
    after = {k: c.stats() for k, c in controls.items()}

    def delta(vendor: str, key: str) -> int:
        return after[vendor]["calls"].get(key, 0) - before[vendor]["calls"].get(key, 0)

    steps = dict(conn.execute("SELECT step, counts FROM sync.run_step WHERE run_key = %s", (run_key,)).fetchall())
    merge, push = steps["merge"], steps["push"]
    oa_calls, ekb_calls = delta("oa", "total"), delta("ekuaibao", "total")
    canonical = sum(merge[e][k] for e in merge for k in ("created", "updated", "deactivated"))
    return {
        "label": label,
        "seconds": seconds,
        "work_seconds": work,
        "peak_rss_mb": rss,
        "oa_calls": oa_calls,
        "oa_minimum_calls": minimum,
        "oa_departments_path": {k: v for k, v in steps["extract"]["api"].items() if k.startswith("department_")},
        "read": steps["extract"]["read"],
        "ekb_calls": ekb_calls,
        "throttled": delta("oa", "throttled") + delta("ekuaibao", "throttled"),
        "extract_vs_floor": round(work["extract"] / (oa_calls / qps), 3),
        "push_vs_floor": round(work["push"] / (ekb_calls / qps), 3) if ekb_calls else None,
        "api_steps_vs_floor": round((work["extract"] + work["push"]) / ((oa_calls + ekb_calls) / qps), 3),
        "staged_rows": sum(steps["extract"]["rows"].values()),
        "canonical_writes": canonical,
        "merge_rows_per_s": round(canonical / work["merge"]),
        "records_pushed": sum(n for e in ("org_unit", "employee") for k, n in push[e].items() if k != "unchanged"),
        "write_calls": write_calls(after["ekuaibao"]) - write_calls(before["ekuaibao"]),
        "merge": merge,
        "push": {k: v for k, v in push.items() if k != "api_calls"},
    }


def report(run: dict, qps: float) -> None:
    print(f"\n{run['label']}")
    print(f"  seconds per step: {run['work_seconds']} of work, {run['seconds']} with the process start-up")
    print(f"  peak RSS MB per step: {run['peak_rss_mb']}")
    print(
        f"  OA {run['oa_calls']} calls (floor {run['oa_calls'] / qps:.1f} s, extract {run['extract_vs_floor']}× it); "
        f"合思 {run['ekb_calls']} calls (floor {run['ekb_calls'] / qps:.1f} s, push {run['push_vs_floor']}× it); "
        f"both API steps {run['api_steps_vs_floor']}× their floor; throttled calls {run['throttled']}"
    )
    print(
        f"  staged {run['staged_rows']} rows; canonical writes {run['canonical_writes']} "
        f"({run['merge_rows_per_s']} rows/s in the merge); {run['records_pushed']} records pushed in "
        f"{run['write_calls']} write calls"
    )
    read = run["read"]
    if read["mode"] == "full":
        print(
            f"  read whole ({read['reason']}): OA calls {run['oa_calls']} against the minimum "
            f"{run['oa_minimum_calls']} ({run['oa_calls'] / run['oa_minimum_calls']:.3f}×; departments listed by "
            f"{run['oa_departments_path']})"
        )
    else:
        fewest = 1 + read["people"] + read["departments"]
        print(
            f"  read by {read['events']} events naming {read['people']} people and {read['departments']} departments: "
            f"OA calls {run['oa_calls']} against the fewest they allow {fewest} ({run['oa_calls'] / fewest:.3f}×)"
        )
    print(f"  merge {json.dumps(run['merge'], ensure_ascii=False)}")
    print(f"  push  {json.dumps(run['push'], ensure_ascii=False)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=5_000)
    parser.add_argument("--qps", type=float, default=200.0, help="the sandboxes' rate limit (and the client's)")
    parser.add_argument("--oa", choices=["dingtalk", "wecom"], default="dingtalk")
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--run-key", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for path in (ROOT / "plugins", ROOT / "include" / "sandboxes"):
        sys.path.insert(0, str(path))
    if args.step:
        run_step(args.step, args.run_key, args.state)
        return

    launcher.start()  # while this driver is small: its children's peak RSS is their own
    import psycopg

    from expense_sync.store.migrate import migrate
    from expense_sync_sandboxes.cluster import SandboxCluster
    from expense_sync_sandboxes.postgres import LocalPostgres

    server = LocalPostgres().start()
    database = server.create_database("expense_sync_bench")
    url = server.url(database)
    options = {
        args.oa: {"seed": 1, "departments": args.departments, "employees": args.employees, "qps": args.qps},
        "ekuaibao": {"qps": args.qps},
    }
    print(
        f"org sync benchmark: {args.employees} employees, {args.departments} departments, OA {args.oa}, "
        f"rate limit {args.qps:g} QPS at both vendors (and in the client)"
    )
    try:
        with (
            SandboxCluster([args.oa, "ekuaibao"], options=options) as sandboxes,
            psycopg.connect(url, autocommit=True) as conn,
        ):
            migrate(conn)
            extra = {"rate_limit_qps": args.qps, "timeout": 30}
            env = {
                **os.environ,
                "AIRFLOW_HOME": tempfile.mkdtemp(prefix="expense-sync-bench-"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
                "AIRFLOW_CONN_MDM_POSTGRES": url,
                f"AIRFLOW_CONN_OA_{args.oa.upper()}": sandboxes.connection(f"oa_{args.oa}", **extra),
                "AIRFLOW_CONN_EXPENSE_EKUAIBAO": sandboxes.connection("expense_ekuaibao", **extra),
                "AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": args.oa,
                "EXPENSE_SYNC_GX_RESULTS_DIR": tempfile.mkdtemp(prefix="expense-sync-bench-gx-"),
            }
            full = sync_once(env, sandboxes, conn, args.oa, args.qps, "full sync", "bench/full")
            report(full, args.qps)
            env[f"AIRFLOW_CONN_OA_{args.oa.upper()}"] = oa_events.oa_connection(sandboxes, args.oa)
            oa_events.set_env(env)
            receiver, base_url = oa_events.start_receiver()
            oa_events.push_to(sandboxes, args.oa, base_url)
            started = time.monotonic()
            churn = sandboxes.control(args.oa).mutate("churn", fraction=args.churn)
            pushed = sandboxes.control(args.oa).state()["callbacks"]
            stored = conn.execute("SELECT count(*) FROM sync.event_inbox").fetchone()[0]
            print(
                f"\nthe OA changes overnight: {churn}; it pushed {len(pushed)} contact-change events "
                f"({sum(p['status'] == 200 for p in pushed)} answered 200) in {time.monotonic() - started:.1f} s, "
                f"the receiver stored {stored}"
            )
            receiver.should_exit = True
            label = f"a day with {args.churn:.0%} changes"
            day = sync_once(env, sandboxes, conn, args.oa, args.qps, label, "bench/day")
            report(day, args.qps)
            keys = ("canonical_writes", "records_pushed", "write_calls", "oa_calls")
            ratios = {k: round(day[k] / full[k], 4) for k in keys}
            sandbox_rss = next(
                (
                    int(line.split()[1]) / 1024
                    for line in Path(f"/proc/{sandboxes.process.pid}/status").read_text().splitlines()
                    if line.startswith("VmHWM:")
                ),
                None,
            )
        print(
            f"\n{args.churn:.0%} day vs full run: canonical writes {ratios['canonical_writes']:.2%}, records pushed "
            f"{ratios['records_pushed']:.2%}, write calls {ratios['write_calls']:.2%}, "
            f"OA calls {ratios['oa_calls']:.2%}"
        )
        print(f"the sandboxes' own process (the vendors, not ours) peaked at {sandbox_rss:.0f} MB")
        OUT.mkdir(parents=True, exist_ok=True)
        results = {
            "args": {k: v for k, v in vars(args).items() if k in ("employees", "departments", "qps", "oa", "churn")},
            "full": full,
            "day": day,
            "day_vs_full": ratios,
        }
        (OUT / "org_sync.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures saved to {OUT / 'org_sync.json'}")
    finally:
        server.drop_database(database)
        server.stop()


if __name__ == "__main__":
    main()
