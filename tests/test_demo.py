"""``make demo`` — the README's first command — plays to its end: org_sync_daily twice through the real
Airflow CLI, the travel claim from its webhook to the voucher number on the 合思 document, and the
month end with its auditors' pack. Run as a person runs it (a separate process, the test session's
Airflow and expense-sync settings left out), in a workdir and database of its own; the checks read
what it printed and what it left in the middle platform."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import psycopg

from testkit import ROOT


def test_make_demo_plays_from_the_webhook_to_the_auditors_pack(tmp_path):
    database = f"expense_sync_demo_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "EXPENSE_SYNC"))}
    env["PYTHONPATH"] = f"{ROOT / 'plugins'}:{ROOT / 'include' / 'sandboxes'}"
    command = [sys.executable, "scripts/demo.py", "--database", database, "--workdir", str(tmp_path / "local")]
    command += ["--results", str(tmp_path / "gx")]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = tmp_path / "local" / "demo.log"
    tail = log.read_text()[-3000:] if log.exists() else ""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + tail

    out = done.stdout
    assert "employees   created  396" in out and "quarantined  4" in out
    assert "vouchers in Kingdee for it: 1" in out
    # the front half: the application and the claim each approved in DingTalk by 主管 then 财务
    assert len(re.findall(r"DingTalk approval \S+: 主管 E\d+ → 财务 E\d+", out)) == 2, out
    assert len(re.findall(r"approval flow applied \(accept\); 合思 document \S+ is now (paid|paying)", out)) == 2
    assert re.search(r"budget check in Kingdee before the voucher: within \([\d.]+ of [\d.]+ CNY available\)", out)
    assert re.search(r"the flight's accrual AC-\S+ \(1280.00 CNY\): reversed, reversal AC-\S+-R1", out), out
    # 行程单 (1180 + 50) / 1.09 × 9 % = 101.56 and the 专票's 20.18 go to input VAT
    assert "1514.76 CNY expense + 121.74 CNY input VAT (进项税额) = 1636.50 CNY" in out
    assert "reconciled (unexplained difference 0.00 CNY)" in out
    assert "(Dr expense / Cr clearing), audited" in out  # the accountant approved it; the re-run learned it
    packs = list((tmp_path / "gx" / "auditors_pack").glob("*/index.html"))
    assert len(packs) == 1
    assert re.search(r"Status: <b class='\w+'>reconciled</b>", packs[0].read_text(encoding="utf-8"))
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn:
        vouchers = dict(conn.execute("SELECT kind, count(*) FROM fin.voucher GROUP BY kind").fetchall())
        reconciled = conn.execute("SELECT status FROM fin.reconciliation").fetchall()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert vouchers == {"claim": 1, "rollup": 1, "accrual": 1, "accrual_reversal": 1}
    assert set(reconciled) == {("reconciled",)}  # the month end ran twice: the same verdict
