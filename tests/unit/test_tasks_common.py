"""tasks/common.py pure part: the run ledger's key of a DAG run."""

from __future__ import annotations

from types import SimpleNamespace

from expense_sync.tasks.common import run_key


def test_the_run_key_names_the_dag_and_the_run():
    context = {"dag": SimpleNamespace(dag_id="claim_events"), "run_id": "scheduled__2026-01-12T01:15:00+00:00"}
    assert run_key(context) == "claim_events/scheduled__2026-01-12T01:15:00+00:00"


def test_two_dags_with_the_same_run_id_have_different_keys():
    run_id = "manual__2026-01-12T09:00:00+00:00"
    keys = {run_key({"dag": SimpleNamespace(dag_id=d), "run_id": run_id}) for d in ("org_sync_daily", "claim_events")}
    assert len(keys) == 2
