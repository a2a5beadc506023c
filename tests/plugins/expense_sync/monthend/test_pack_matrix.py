"""The approval matrix in the auditors' pack: the version in force at the period's end, every step in
approval_matrix.csv and a section of the page; a period before any matrix says so."""

from __future__ import annotations

import csv
from pathlib import Path

import pendulum
from matrixkit import holders, seed_cost_centers, seed_org

from expense_sync.matrix.derive import derive_matrix, record_holders
from expense_sync.monthend.pack import build_pack
from monthkit import accounts

VENDOR = "kingdee"


def pack(mdm, period: str, root: Path) -> tuple[list[dict[str, str]], str]:
    folder = build_pack(mdm, period, VENDOR, accounts(VENDOR), root).parent
    with (folder / "approval_matrix.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f)), (folder / "index.html").read_text("utf-8")


def test_the_pack_shows_the_matrix_in_force_at_the_period_s_end(mdm, tmp_path):
    seed_org(mdm, {"E1": "E2", "E2": None, "E3": None, "E4": None, "E9": None})
    seed_cost_centers(mdm, "CC1")
    record_holders(mdm, holders(("CC1", "E4", "E3")), "kingdee")
    derive_matrix(mdm, "test/1")
    mdm.execute("UPDATE mdm.approval_matrix_version SET derived_at = '2025-06-15 10:00+08' WHERE version = 1")
    record_holders(mdm, holders(("CC1", "E9", "E3")), "kingdee")
    derive_matrix(mdm, "test/2")

    june, page = pack(mdm, "2025-06", tmp_path)
    assert {r["version"] for r in june} == {"1"} and len(june) == 8
    assert [(r["role"], r["approver"]) for r in june if r["band_low"] == "5000.00" and r["category"] == "(any)"] == [
        ("主管", "(the submitter's manager)"),
        ("财务", "E3"),
        ("总监", "E4"),
    ]
    assert "Approval matrix in force" in page and "Version 1," in page and "approval_matrix.csv" in page

    now, page = pack(mdm, pendulum.now("Asia/Shanghai").strftime("%Y-%m"), tmp_path)
    assert {r["version"] for r in now} == {"2"} and {r["approver"] for r in now if r["role"] == "总监"} == {"E9"}

    may, page = pack(mdm, "2025-05", tmp_path)
    assert may == [] and "No approval matrix was derived before the period ended." in page
