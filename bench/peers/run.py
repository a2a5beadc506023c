"""Side by side, in one run against one DingTalk sandbox: expense-sync's org sync (extract + merge,
what ``org_sync_daily``'s tasks call), dlt ``rest_api`` → PostgreSQL (``replace`` and ``merge``),
and a plain requests + COPY script (the floor).

Every client runs in its own process, started by ``bench/launcher.py`` (its CPU user+sys and peak RSS
from ``os.wait4``, its own and not the driver's), into its own fresh database, three times: a first
sync into the empty database, then a sync where nothing changed, then a day on which 1 % of the
people changed (``--churn``: hires, leavers, transfers and renames). The sandbox is reset to the same
company before each client. expense-sync reads the first sync and the unchanged one whole (as the
peers do); on the 1 % day it reads what the OA's contact-change events name, as ``org_sync_daily``
does between full reads: the sandbox pushes them to the webhook receiver (in this process, storing
into that client's database). The peers read the whole directory again on that day. The clients take
turns, in a rotated order, over ``--rounds`` rounds; API calls are counted at the sandbox. Printed:
the median of the rounds per client and run, with ratios to dlt ``merge`` and to the COPY script.
The sandbox has no rate limit (the client's pace is set far above it).

Then (``--replay``, the default) each client's first sync and unchanged sync again on recorded HTTP
(``replay.py``): its reads recorded once through a proxy in front of the sandbox, unmeasured, and
replayed byte for byte by a trivial server in this process, so that wall time is the client's own
and not the sandbox's building of pages; a request not on the tape fails the benchmark.

    make bench-peers          # or: python bench/peers/run.py --employees 100000 --departments 5000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import launcher  # noqa: E402  (bench/launcher.py)
import oa_events  # noqa: E402  (bench/oa_events.py)
import replay  # noqa: E402  (bench/peers/replay.py)

HERE = Path(__file__).resolve().parent
OUT = ROOT / "bench" / "out"
CLIENTS = ("expense-sync", "dlt merge", "dlt replace", "COPY script")
RUNS = ("first sync", "nothing changed", "1 % day")
REPLAYED = ("first sync, replayed", "nothing changed, replayed")  # on recorded HTTP (bench/peers/replay.py)


# -- expense-sync's client, in its own process: the calls org_sync_daily's extract and merge make ----
def package_step(run_key: str) -> None:
    import cProfile

    from expense_sync.hooks.registry import oa_hook
    from expense_sync.org.changes import read_directory
    from expense_sync.org.merge import merge_directory
    from expense_sync.settings import org_max_deactivation
    from expense_sync.store.db import connect
    from expense_sync.store.runs import record_step

    profile = cProfile.Profile(time.process_time) if os.environ.get("PEERS_PROFILE") else None  # CPU, not wall
    with connect() as conn:  # imports done and connected: from here on it is the sync's own work
        started, cpu = time.monotonic(), time.process_time()
        if profile:
            profile.enable()
        whole = not run_key.endswith("1 % day")  # the peers read everything every time; so do we, but that day
        result = read_directory(conn, oa_hook("dingtalk"), run_key, full=whole)
        record_step(conn, run_key, "extract", {k: result[k] for k in ("system", "rows", "api", "read")})
        merged = merge_directory(conn, result["loads"], run_key, max_deactivation=org_max_deactivation())
        record_step(conn, run_key, "merge", merged)
        if profile:
            profile.disable()
            profile.dump_stats(f"{os.environ['PEERS_PROFILE']}.{run_key.replace('/', '_').replace(' ', '_')}")
        work, work_cpu = time.monotonic() - started, time.process_time() - cpu
    written = sum(merged[e].get(k, 0) for e in merged for k in ("created", "updated", "deactivated"))
    figures = {
        "rows_written": written,
        "work_s": work,
        "work_cpu_s": work_cpu,
        "api": result["api"],
        "read": result["read"],
    }
    print(json.dumps(figures))


# -- the driver -------------------------------------------------------------------------------------
def run_client(argv: list[str], env: dict) -> dict:
    """Run one client to its end, through the launcher: its own wall time, CPU (user+sys) and peak
    RSS, and what it printed."""
    done = launcher.run(argv, env)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": done.wall_s, "cpu_s": done.cpu_s, "peak_rss_mb": done.peak_rss_mb, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--churn", type=float, default=0.01, help="the share of people changed on the day")
    parser.add_argument("--bench-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset of " + ", ".join(CLIENTS))
    parser.add_argument(
        "--replay",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the first sync and the unchanged one on recorded HTTP, without the sandbox's cost",
    )
    parser.add_argument("--package-step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for path in (ROOT / "plugins", ROOT / "include" / "sandboxes"):
        sys.path.insert(0, str(path))
    if args.package_step:
        package_step(args.package_step)
        return
    launcher.start()  # while this driver is small: the clients' peak RSS is their own

    import psycopg

    from expense_sync.store.migrate import migrate
    from expense_sync_sandboxes import dingtalk
    from expense_sync_sandboxes.cluster import SandboxCluster
    from expense_sync_sandboxes.postgres import LocalPostgres

    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        raise SystemExit(f"unknown clients {sorted(unknown)}")
    if any(c.startswith("dlt") for c in clients) and not Path(args.bench_python).exists():
        print(f"no {args.bench_python} (make bench-peers creates it): dlt left out")
        clients = [c for c in clients if not c.startswith("dlt")]
    server = LocalPostgres().start()
    options = {"dingtalk": {"seed": 1, "departments": args.departments, "employees": args.employees}}
    print(
        f"peers benchmark: {args.employees} employees in {args.departments} departments, one DingTalk sandbox "
        f"without rate limit, {args.rounds} rounds of {', '.join(clients)}"
    )
    results: dict[tuple[str, str], list[dict]] = {}
    tapes: dict[str, replay.Tape] = {}  # each client's reads, recorded once
    with SandboxCluster(["dingtalk"], options=options) as sandboxes:
        control = sandboxes.control("dingtalk")
        sandbox = sandboxes.url("dingtalk")
        quiet = {**os.environ, "RUNTIME__DLT_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "ERROR"}
        # the receiver (this process) verifies DingTalk's pushes with the connection's callback secrets
        os.environ["AIRFLOW_CONN_OA_DINGTALK"] = oa_events.oa_connection(sandboxes, "dingtalk")

        def fresh_database(client: str) -> str:
            database = server.create_database("peers")
            if client == "expense-sync":  # its tables made as the deployment makes them; the peers make theirs
                with psycopg.connect(server.url(database), autocommit=True) as conn:
                    migrate(conn)
            return database

        def measure(client: str, key: str, database: str, base_url: str) -> dict:
            """One run of ``client`` against ``base_url`` (the sandbox, the recorder or the player)."""
            url, scratch = server.url(database), tempfile.mkdtemp(prefix="expense-sync-peers-")
            if client == "expense-sync":
                connection = json.loads(sandboxes.connection("oa_dingtalk", rate_limit_qps=1_000_000, timeout=60))
                connection["port"] = int(base_url.rsplit(":", 1)[1])
                argv = [sys.executable, __file__, "--package-step", key]
                env = {
                    **quiet,
                    "AIRFLOW_HOME": scratch,
                    "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
                    "AIRFLOW_CONN_MDM_POSTGRES": url,
                    "AIRFLOW_CONN_OA_DINGTALK": json.dumps(connection),
                    "AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": "dingtalk",
                }
                return run_client(argv, env)
            argv = [
                "--dsn",
                url,
                "--base-url",
                base_url,
                "--appkey",
                dingtalk.APP_KEY,
                "--appsecret",
                dingtalk.APP_SECRET,
            ]
            if client == "COPY script":
                return run_client([args.bench_python, str(HERE / "copy_client.py"), *argv], quiet)
            argv += ["--disposition", client.split()[1], "--pipelines-dir", scratch]
            return run_client([args.bench_python, str(HERE / "dlt_client.py"), *argv], quiet)

        def record(client: str, run: str, round_no: int, figures: dict) -> None:
            results.setdefault((client, run), []).append(figures)
            print(
                f"  round {round_no + 1} {client:<13} {run:<26} wall {figures['wall_s']:6.1f} s  "
                f"CPU {figures['cpu_s']:6.1f} s  RSS {figures['peak_rss_mb']:5.0f} MB  "
                f"calls {figures['api_calls']:6d}  rows {figures['rows_written']:7d}",
                flush=True,
            )

        for round_no in range(args.rounds):
            order = clients[round_no % len(clients) :] + clients[: round_no % len(clients)]
            for client in order:
                control.reset(**options["dingtalk"])  # the same company for every client
                database, receiver = fresh_database(client), None
                try:
                    for run in RUNS:
                        if run == "1 % day":
                            if client == "expense-sync":
                                url = server.url(database)
                                receiver, receiver_url = oa_events.start_receiver(
                                    connect=lambda url=url: psycopg.connect(url, autocommit=True)
                                )
                                oa_events.push_to(sandboxes, "dingtalk", receiver_url)
                            control.mutate("churn", fraction=args.churn)
                        before = control.stats()["calls"].get("total", 0)
                        figures = measure(client, f"peers/{round_no}/{run}", database, sandbox)
                        figures["api_calls"] = control.stats()["calls"].get("total", 0) - before
                        record(client, run, round_no, figures)
                finally:
                    if receiver is not None:
                        receiver.should_exit = True
                        time.sleep(0.5)  # its connections closed before the database is dropped
                    server.drop_database(database)
                if not args.replay:
                    continue
                if client not in tapes:  # recorded once, unmeasured, from the company as it was reset
                    control.reset(**options["dingtalk"])
                    tapes[client], database = replay.Tape(), fresh_database(client)
                    try:
                        with replay.Recorder(tapes[client], sandbox) as proxy:
                            measure(client, "peers/recording", database, proxy.url)
                    finally:
                        server.drop_database(database)
                database = fresh_database(client)
                try:
                    with replay.Player(tapes[client]) as player:
                        for run in REPLAYED:
                            served, misses = player.served, tapes[client].misses
                            figures = measure(client, f"peers/{round_no}/{run}", database, player.url)
                            if tapes[client].misses != misses:
                                raise SystemExit(
                                    f"{client}, {run}: {tapes[client].misses - misses} requests not recorded"
                                )
                            figures["api_calls"] = player.served - served
                            record(client, run, round_no, figures)
                finally:
                    server.drop_database(database)
    server.stop()
    report(results, clients)
    OUT.mkdir(parents=True, exist_ok=True)
    saved = {
        "args": {
            "employees": args.employees,
            "departments": args.departments,
            "rounds": args.rounds,
            "churn": args.churn,
            "replay": args.replay,
        },
        "runs": {f"{client} / {run}": figures for (client, run), figures in results.items()},
    }
    (OUT / "peers.json").write_text(json.dumps(saved, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"figures saved to {OUT / 'peers.json'}")


def report(results: dict[tuple[str, str], list[dict]], clients: list[str]) -> None:
    keys = ("wall_s", "cpu_s", "work_cpu_s", "peak_rss_mb", "api_calls", "rows_written")
    median = {k: {m: statistics.median(f[m] for f in runs) for m in keys} for k, runs in results.items()}
    print(
        "\nmedians over the rounds (CPU = the client process's user+sys, start-up included; "
        "work CPU = after its imports)"
    )
    header = f"{'client':<13} {'run':<26} {'wall s':>7} {'CPU s':>7} {'work CPU s':>10} {'RSS MB':>7} "
    header += f"{'API calls':>9} {'rows':>8} {'CPU/dlt merge':>13} {'CPU/COPY':>8}"
    print(header)
    for run in (*RUNS, *REPLAYED):
        for client in clients:
            if (client, run) not in median:
                continue
            m = median[(client, run)]
            dlt = median.get(("dlt merge", run))
            floor = median.get(("COPY script", run))
            vs_dlt = f"{m['cpu_s'] / dlt['cpu_s']:.2f}" if dlt else "-"
            vs_copy = f"{m['cpu_s'] / floor['cpu_s']:.2f}" if floor else "-"
            print(
                f"{client:<13} {run:<26} {m['wall_s']:7.1f} {m['cpu_s']:7.1f} {m['work_cpu_s']:10.1f} "
                f"{m['peak_rss_mb']:7.0f} {m['api_calls']:9.0f} {m['rows_written']:8.0f} {vs_dlt:>13} {vs_copy:>8}"
            )


if __name__ == "__main__":
    main()
