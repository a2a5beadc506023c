"""The history of the data health checks (数据体检): one ``quality.check_result`` row per suite and run."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from expense_sync.store import sqlfile


def record_results(
    conn: psycopg.Connection, run_key: str, checkpoint: str, suites: list[dict[str, Any]], failures: list[Any]
) -> int:
    """Keep each suite's outcome with its failed expectations; a check that could not run at all
    (no suite results) is kept as one row for the checkpoint."""
    rows = suites or [{"suite": f"{checkpoint} (did not run)", "success": False, "evaluated": None, "failed": None}]
    for suite in rows:
        own = [f for f in failures if not isinstance(f, dict) or f.get("suite") in (suite["suite"], None)]
        conn.execute(
            sqlfile.step("quality/history", "record_result"),
            (
                run_key,
                checkpoint,
                suite["suite"],
                bool(suite["success"]),
                suite.get("evaluated"),
                suite.get("failed"),
                json.dumps([] if suite["success"] else own, ensure_ascii=False, default=str),
            ),
        )
    return len(rows)
