"""``make resolve``: ``python -m expense_sync`` against the deployment ``make airflow`` runs on this
machine, without setting PYTHONPATH or a DSN by hand.

``make airflow`` leaves where its metadata database and middle platform are in
``.local/airflow/cli.env.json`` while it runs; this reads it (what the environment already sets
wins) and runs the command. With no deployment running, the command says in one line what it
lacks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the file local_airflow.py writes (tests point at their own deployment's)
CLI_ENV = Path(os.environ.get("EXPENSE_SYNC_CLI_ENV") or ROOT / ".local" / "airflow" / "cli.env.json")


def main(argv: list[str] | None = None) -> int:
    sys.path[:0] = [str(ROOT / "plugins")]
    if CLI_ENV.exists():
        for key, value in json.loads(CLI_ENV.read_text()).items():
            os.environ.setdefault(key, value)
    from expense_sync.__main__ import main as expense_sync

    return expense_sync(argv)


if __name__ == "__main__":
    sys.exit(main())
