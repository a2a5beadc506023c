"""Run a Great Expectations checkpoint of the committed File Data Context against the middle platform.

GX is imported here, inside the task, never at DAG parse time (the import alone takes seconds).
The PostgreSQL URL comes from the Airflow connection and is handed to GX through ``MDM_PG_URL``
(registered with the log masker). A failed suite raises :class:`DataHealthCheckFailed`, which names
every failed expectation, so the tasks downstream (the push) do not run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from expense_sync.hooks.base import mask
from expense_sync.settings import GX_DIR, MDM_CONN_ID

log = logging.getLogger(__name__)
RESULTS_DIR_VAR = "EXPENSE_SYNC_GX_RESULTS_DIR"
EXAMPLES = 5  # failing values quoted per expectation


class DataHealthCheckFailed(AirflowFailException):
    """A data health check failed; no retry will fix the data, so the task fails at once."""

    def __init__(self, checkpoint: str, failures: list[dict[str, Any]], suites: Sequence[dict[str, Any]] = ()) -> None:
        self.checkpoint, self.failures, self.suites = checkpoint, failures, list(suites)
        lines = [
            f"- {f['suite']}: {f['expectation']}"
            + (f" on {f['column']}" if f.get("column") else "")
            + (f" ({f['unexpected_count']} unexpected" if f.get("unexpected_count") is not None else "")
            + (
                f", e.g. {f['examples']})"
                if f.get("examples")
                else (")" if f.get("unexpected_count") is not None else "")
            )
            + (f" — {f['description']}" if f.get("description") else "")
            for f in failures
        ]
        super().__init__(f"data health check {checkpoint!r} failed:\n" + "\n".join(lines))


def results_dir() -> Path:
    """Where validation results and Data Docs go (``$EXPENSE_SYNC_GX_RESULTS_DIR``)."""
    path = Path(os.environ.setdefault(RESULTS_DIR_VAR, str(GX_DIR / "uncommitted")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def docs_index() -> Path:
    return results_dir() / "data_docs" / "local_site" / "index.html"


def _context():
    from great_expectations.data_context.types.base import ProgressBarsConfig

    import great_expectations as gx

    results_dir()
    context = gx.get_context(mode="file", context_root_dir=str(GX_DIR))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@contextmanager
def quiet_gx() -> Iterator[None]:
    """GX logs hundreds of INFO lines per checkpoint (data sources, metrics, renderers); inside a task
    only its warnings are worth an operator's eyes: the failed expectations come one line each in
    :class:`DataHealthCheckFailed`."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def suites_and_failures(result: Any) -> tuple[list[dict], list[dict]]:
    """Per-suite statistics and the failed expectations of a checkpoint result."""
    suites, failures = [], []
    for validation in result.run_results.values():
        suite = validation.suite_name
        stats = validation.statistics
        suites.append(
            {
                "suite": suite,
                "success": validation.success,
                "evaluated": stats.get("evaluated_expectations"),
                "failed": stats.get("unsuccessful_expectations"),
            }
        )
        for r in validation.results:
            if r.success:
                continue
            config = r.expectation_config
            details = r.result or {}
            failures.append(
                _json_safe(
                    {
                        "suite": suite,
                        "expectation": config.type,
                        "column": config.kwargs.get("column"),
                        "description": getattr(config, "description", None) or config.meta.get("description"),
                        "unexpected_count": details.get("unexpected_count", details.get("observed_value")),
                        "examples": (
                            details.get("partial_unexpected_list")
                            or details.get("details", {}).get("unexpected_rows")
                            or []
                        )[:EXAMPLES],
                        "error": (r.exception_info or {}).get("exception_message")
                        if isinstance(r.exception_info, dict) and r.exception_info.get("raised_exception")
                        else None,
                    }
                )
            )
    return suites, failures


def run_checkpoint(
    name: str, run_name: str, *, conn_id: str = MDM_CONN_ID, label: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run checkpoint ``name``, update the Data Docs, and raise if any expectation failed. ``label``
    (period, DAG, run…) heads each validation page of the run."""
    from expense_sync.quality.docs import label_run_pages, link_packs
    from expense_sync.store.db import sqlalchemy_url

    url = sqlalchemy_url(conn_id)
    mask(url)
    os.environ["MDM_PG_URL"] = url
    with quiet_gx():
        from great_expectations.core.run_identifier import RunIdentifier  # GX logs on import too

        context = _context()
        result = context.checkpoints.get(name).run(run_id=RunIdentifier(run_name=run_name))
    link_packs(docs_index())
    label_run_pages(docs_index().parent, run_name, label or {"Run": run_name})
    suites, failures = suites_and_failures(result)
    summary = {
        "checkpoint": name,
        "success": bool(result.success),
        "suites": suites,
        "failures": failures,
        "data_docs": str(docs_index()),
    }
    log.info("data health check %s: %s", name, json.dumps(suites, ensure_ascii=False))
    if not result.success:
        raise DataHealthCheckFailed(name, failures, suites)
    return summary
