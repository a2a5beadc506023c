"""The `approval_matrix` suite (its own checkpoint, and part of `data_health`): a sound matrix passes,
and each expectation fails on what it guards (a cost center missing from the matrix, a vacant role,
an unknown or inactive approver, one person holding every named role). Before any matrix is derived
there is nothing to check."""

from __future__ import annotations

import pytest
from matrixkit import holders, seed_cost_centers, seed_org

from expense_sync.matrix.derive import derive_matrix, record_holders
from expense_sync.quality.checkpoint import DataHealthCheckFailed, run_checkpoint

SOUND = (("CC1", "E4", "E3"), ("CC2", "E4", "E5"))


@pytest.fixture
def org(mdm, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed_org(mdm, {"E1": "E2", "E2": None, "E3": None, "E4": None, "E5": None, "E6": None}, inactive=("E6",))
    seed_cost_centers(mdm, "CC1", "CC2")
    return mdm


def failures(checkpoint: str, name: str) -> list[str]:
    try:
        run_checkpoint(checkpoint, run_name=name)
    except DataHealthCheckFailed as caught:
        return sorted(f["description"] for f in caught.failures if f["suite"] == "approval_matrix")
    return []


def derive(conn, *rows):
    record_holders(conn, holders(*rows), "kingdee")
    return derive_matrix(conn, "test/1")


def test_no_matrix_yet_is_nothing_to_check(org):
    assert failures("approval_matrix", "none") == []


def test_a_sound_matrix_passes_in_both_checkpoints(org):
    derive(org, *SOUND)
    assert failures("approval_matrix", "sound") == []
    assert failures("data_health", "sound") == []


@pytest.mark.parametrize(
    ("rows", "new_cost_center", "failed"),
    [
        (SOUND, "CC3", "Every active cost center is in the approval matrix in force."),
        ((("CC1", "E4", "E3"), ("CC2", None, "E5")), None, "Every chain is complete"),
        ((("CC1", "E4", "E3"), ("CC2", "X404", "E5")), None, "No approver is unknown to the org master."),
        ((("CC1", "E4", "E3"), ("CC2", "E6", "E5")), None, "No approver has left (inactive)."),
        ((("CC1", "E4", "E3"), ("CC2", "E5", "E5")), None, "Segregation of duties"),
    ],
)
def test_each_expectation_fails_on_what_it_guards(org, rows, new_cost_center, failed):
    derive(org, *rows)
    if new_cost_center:  # a cost center the chart sync added after the matrix was derived
        seed_cost_centers(org, new_cost_center)
    found = failures("approval_matrix", "bad")
    assert len(found) == 1 and found[0].startswith(failed), found
