"""Webhook receiver benchmark: signed deliveries per second with verification and a durable insert.

    python bench/webhook_receiver.py [--events 20000] [--concurrency 32] [--workers 2] [--pool-size 4]
                                     [--dup-ratio 0.1] [--ekuaibao-share 0.25]

1. A throwaway database on the local PostgreSQL (``$EXPENSE_SYNC_PG_SERVER``, else a temporary
   cluster), migrated; its durability settings are printed (nothing is relaxed here).
2. The receiver as in production outside Airflow: ``python -m expense_sync.webhooks`` (uvicorn,
   uvloop, httptools) with ``--workers`` processes and ``EXPENSE_SYNC_WEBHOOK_POOL_SIZE`` connections
   each, no notifier. Every 2xx means: signature (or 合思 signKey) verified, row committed.
3. This process drives it: ``--concurrency`` keep-alive clients (asyncio + aiohttp) send pre-signed
   Standard Webhooks and 合思 deliveries; ``--dup-ratio`` of them replay an earlier event. A warm-up
   round is sent first and not counted.

Prints events/s (deliveries answered 2xx per second of wall time), latency percentiles from the
client's side, how the duplicates were answered, and the inbox row count against the unique
events sent. Figures only: no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "include" / "sandboxes")]

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from expense_sync.store.migrate import migrate  # noqa: E402
from expense_sync_sandboxes.cluster import free_port  # noqa: E402
from expense_sync_sandboxes.postgres import LocalPostgres  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"bench-standard-webhooks-secret!!").decode()
PATH_TOKEN = "pt-bench-ekuaibao-0001"


def deliveries(
    count: int, dup_ratio: float, ekuaibao_share: float, rng: random.Random, first: int = 0
) -> tuple[list, int]:
    """Pre-built (path, headers, body) requests, and how many distinct events they hold."""
    webhook, built, unique = Webhook(SECRET), [], []
    for n in range(first, first + count):
        if unique and rng.random() < dup_ratio:
            built.append(rng.choice(unique))
            continue
        if rng.random() < ekuaibao_share:
            message = {
                "flowId": f"ID{n:07d}",
                "nodeId": "FLOW:251847192:631543649",
                "action": "flow.paid",
                "state": "paid",
                "userInfo": {"id": "u1", "name": "张三"},
                "amount": {"currency": "CNY", "amount": "1234.50"},
            }
            body = json.dumps(message, ensure_ascii=False).encode()
            request = (f"/expense-sync/webhooks/ekuaibao/{PATH_TOKEN}", {"Content-Type": "application/json"}, body)
        else:
            msg_id = f"msg_{uuid.uuid4().hex}"
            event = {
                "type": "claim.approved",
                "timestamp": datetime.now(UTC).isoformat(),
                "data": {"claimNo": f"ER-{n:07d}", "amount": "880.00", "currency": "CNY"},
            }
            body = json.dumps(event).encode()
            timestamp = int(time.time())
            signature = webhook.sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
            request = (
                "/expense-sync/webhooks/standard",
                {
                    "Content-Type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": signature,
                },
                body,
            )
        unique.append(request)
        built.append(request)
    return built, len(unique)


async def drive(url: str, requests_: list, concurrency: int) -> tuple[float, list[float], dict]:
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    queue = iter(requests_)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for path, headers, body in queue:
                started = time.perf_counter()
                async with session.post(url + path, data=body, headers=headers) as response:
                    text = await response.text()
                latencies.append(time.perf_counter() - started)
                key = (
                    str(response.status)
                    if response.status != 200
                    else ("duplicate" if "duplicate" in text else "stored")
                )
                outcomes[key] = outcomes.get(key, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, outcomes


def start_receiver(port: int, database_url: str, workers: int, pool_size: int, home: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_MDM_POSTGRES": database_url,
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO": json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "login": "bench-app",
                "password": "bench-app-secret",
                "extra": {"outbound_path_tokens": [PATH_TOKEN]},
            }
        ),
        "AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS": SECRET,
        "EXPENSE_SYNC_WEBHOOK_POOL_SIZE": str(pool_size),
        "EXPENSE_SYNC_WEBHOOK_RATE_BURST": "100000000",  # one client address sends everything
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "expense_sync.webhooks",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the receiver exited with {process.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/expense-sync/health", timeout=1).ok:
                return process
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the receiver did not come up in 60 s")
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--dup-ratio", type=float, default=0.1)
    parser.add_argument("--ekuaibao-share", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    warmup, _ = deliveries(args.warmup, 0.0, args.ekuaibao_share, rng)
    measured, unique = deliveries(args.events, args.dup_ratio, args.ekuaibao_share, rng, first=args.warmup)
    server = LocalPostgres().start()
    database = server.create_database("expense_sync_bench")
    url = server.url(database)
    home = tempfile.mkdtemp(prefix="expense-sync-bench-airflow-")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
            settings = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("server_version", "fsync", "synchronous_commit")
            }
        port = free_port()
        receiver = start_receiver(port, url, args.workers, args.pool_size, home)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(drive(base, warmup, args.concurrency))
            gc.freeze()  # the pre-built deliveries: keep the driver's collector from pausing the clock
            elapsed, latencies, outcomes = asyncio.run(drive(base, measured, args.concurrency))
        finally:
            receiver.terminate()
            receiver.wait(30)
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("SELECT count(*) FROM sync.event_inbox").fetchone()[0] - len(warmup)
    finally:
        server.drop_database(database)
        server.stop()

    answered = sum(v for k, v in outcomes.items() if k in ("stored", "duplicate"))
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
        f"{settings['server_version']} (fsync={settings['fsync']}, "
        f"synchronous_commit={settings['synchronous_commit']})"
    )
    print(
        f"receiver: {args.workers} uvicorn worker(s) x {args.pool_size} connections; driver: "
        f"{args.concurrency} concurrent keep-alive clients in a separate process"
    )
    print(
        f"deliveries: {len(measured)} ({args.ekuaibao_share:.0%} 合思, the rest Standard Webhooks), "
        f"{len(measured) - unique} of them replays ({(len(measured) - unique) / len(measured):.1%}); "
        f"warm-up {len(warmup)} not counted"
    )
    print(f"answers: {outcomes}")
    print(
        f"throughput: {answered / elapsed:,.0f} events/s answered 2xx "
        f"({answered} in {elapsed:.2f} s; each verified and committed before its answer)"
    )
    p50, p99 = (percentile(latencies, q) * 1000 for q in (0.5, 0.99))
    print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(
        f"duplicates: {outcomes.get('duplicate', 0)} answered 2xx 'duplicate' for {len(measured) - unique} "
        f"replays sent; inbox rows {rows} for {unique} unique events"
    )


if __name__ == "__main__":
    main()
