"""Business outcomes of a run: what it could not sync, written on the run and sent to the alert channels.

A run can end with every task green while its business went wrong: the ERP refused a voucher, a
record was quarantined, a conflict waits for a person, the month does not reconcile. Each DAG's
``summarize`` task reads what the run queued (``sync.exception_item`` whose ``first_run_key`` is
this run: a problem is reported once, by the run that found it, not every 15 minutes while it
waits) and decides, per outcome:

=================================  ===========================  =====================================
outcome                            the run                      why
=================================  ===========================  =====================================
``voucher_refused`` (claim or      **failed** (red): summarize  money did not reach the ledger; the
rollup voucher refused by the      raises                       refusal needs a fix in the ERP or the
ERP)                               :class:`BusinessFailure`     claim, then a release (README)
month not reconciled               **failed** (red)             the books of the period are not closed
records quarantined                succeeds, with a note and    the rest synced; the data is fixed at
                                   an alert                     its master and the next run clears it
conflicts waiting for a person     succeeds, with a note and    a decision is pending, nothing is
                                   an alert                     wrong with the run
=================================  ===========================  =====================================

Every notable run gets a **note** (the DagRun note Airflow shows in the grid and on the run's page,
written through Airflow's REST API: :mod:`expense_sync.runnote`) with the counts, and **one alert**
(:mod:`expense_sync.alerts`, every configured channel) with the counts, a few record keys and the
runbook anchor. For a red run the alert travels as the task's failure alert (the failure callback
finds it on :class:`BusinessFailure`), so the failure is announced once, not twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from airflow.sdk.exceptions import AirflowFailException

from expense_sync.alerts import KEYWORD, Alert, deliver
from expense_sync.runnote import NOTE_CHARS
from expense_sync.store import sqlfile

log = logging.getLogger(__name__)

SQL = "tasks/outcomes"  # include/sql/tasks/outcomes.sql
RED_REASONS = ("voucher_refused",)
# the README's anchors (README.md → For operators → Business outcomes → …)
ANCHOR_REFUSED = "voucher_refused"
ANCHOR_UNRECONCILED = "month_not_reconciled"
ANCHOR_QUARANTINED = "records_quarantined"
ANCHOR_CONFLICTS = "conflicts_waiting"


@dataclass
class Outcome:
    """What one run left for people: new queue items by (kind, reason), the open ones of its entities,
    and problems that make the run fail (``failures``: a month not reconciled)."""

    dag_id: str
    run_id: str
    new: dict[tuple[str, str], tuple[int, list[str]]] = field(default_factory=dict)
    still_open: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        refused = sum(n for (_, reason), (n, _) in self.new.items() if reason in RED_REASONS)
        quarantined = sum(
            n for (kind, reason), (n, _) in self.new.items() if kind == "quarantine" and reason not in RED_REASONS
        )
        conflicts = sum(n for (kind, reason), (n, _) in self.new.items() if kind == "conflict")
        return {
            "vouchers_refused": refused,
            "quarantined": quarantined,
            "conflicts_waiting": conflicts,
            "open_items": sum(self.still_open.values()),
        }

    @property
    def red(self) -> bool:
        """The run must fail: a voucher was refused, or a check of the business failed."""
        return bool(self.counts["vouchers_refused"] or self.failures)

    @property
    def notable(self) -> bool:
        """Something for a person: a note and an alert."""
        counts = self.counts
        return self.red or bool(counts["quarantined"] or counts["conflicts_waiting"])

    @property
    def anchor(self) -> str:
        """The runbook section of the worst outcome."""
        counts = self.counts
        if counts["vouchers_refused"]:
            return ANCHOR_REFUSED
        if self.failures:
            return ANCHOR_UNRECONCILED
        return ANCHOR_QUARANTINED if counts["quarantined"] else ANCHOR_CONFLICTS

    def _keys(self, reasons: tuple[str, ...] | None = None, kind: str | None = None) -> str:
        keys = [
            f"{key} ({reason})"
            for (k, reason), (_, records) in self.new.items()
            if (reasons is None or reason in reasons) and (kind is None or k == kind)
            and not (kind == "quarantine" and reason in RED_REASONS)
            for key in records
        ]  # fmt: skip
        return ", ".join(keys[:5])

    def facts(self) -> list[tuple[str, str]]:
        counts = self.counts
        facts = [("DAG", self.dag_id), ("Run", self.run_id)]
        if self.failures:
            facts.append(("Not closed", "; ".join(self.failures)))
        for label, n, keys in (
            ("Vouchers refused by the ERP", counts["vouchers_refused"], self._keys(reasons=RED_REASONS)),
            ("Records quarantined", counts["quarantined"], self._keys(kind="quarantine")),
            ("Conflicts waiting for a person", counts["conflicts_waiting"], self._keys(kind="conflict")),
        ):
            facts.append((label, f"{n}" + (f": {keys}" if keys else "")))
        facts.append(("Open in the queue (sync.exception_item)", str(counts["open_items"])))
        return facts

    def title(self) -> str:
        counts = self.counts
        if counts["vouchers_refused"]:
            what = f"{counts['vouchers_refused']} voucher(s) refused by the ERP"
        elif self.failures:
            what = self.failures[0]
        elif counts["quarantined"]:
            what = f"{counts['quarantined']} record(s) quarantined"
        else:
            what = f"{counts['conflicts_waiting']} conflict(s) waiting for a person"
        return f"{KEYWORD}: {self.dag_id}: {what}"

    def alert(self) -> Alert:
        return Alert(self.title(), self.dag_id, self.facts(), anchor=self.anchor)

    def note(self) -> str:
        """The run's note (Markdown, as the UI renders it): the verdict, the counts, the runbook."""
        verdict = "FAILED: " if self.red else "Needs a person: "
        lines = [f"**{verdict}{self.title().split(': ', 2)[-1]}**", ""]
        lines += [f"- {k}: {v}" for k, v in self.facts()[2:]]
        lines += ["", f"Runbook: {self.alert().runbook}"]
        text = "\n".join(lines)
        return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…"


class BusinessFailure(AirflowFailException):
    """The run's business failed (a refused voucher, a month not closed): fail the summary task at
    once, without retries (retrying changes nothing), carrying the alert that says why."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.title())
        self.business_alert = outcome.alert()


def outcome_of(
    conn: psycopg.Connection, run_key: str, entities: list[str] | None, failures: list[str] | None = None
) -> Outcome:
    """The business outcome of run ``run_key`` (``<dag_id>/<run_id>``); ``entities`` the queue's
    entities whose open items the DAG reports (None: all)."""
    dag_id, _, run_id = run_key.partition("/")
    new = {
        (kind, reason): (int(n), list(keys or []))
        for kind, reason, n, keys in conn.execute(sqlfile.step(SQL, "new_items"), (run_key,)).fetchall()
    }
    still_open = {
        (kind, reason): int(n)
        for kind, reason, n in conn.execute(sqlfile.step(SQL, "open_items"), {"entities": entities}).fetchall()
    }
    return Outcome(dag_id, run_id, new, still_open, list(failures or []))


def report(outcome: Outcome) -> dict[str, Any]:
    """Write the run's note and alert (a red run's alert goes with its failure: see :func:`close`);
    returns the counts. Never raises for a channel or the note: they log why they could not."""
    from expense_sync.runnote import write_note

    counts = outcome.counts
    if not outcome.notable:
        return counts
    log.warning("business outcome of %s: %s", outcome.run_id, outcome.title())
    write_note(outcome.dag_id, outcome.run_id, outcome.note())
    if not outcome.red:
        deliver(outcome.alert())
    return counts


def close(outcome: Outcome) -> dict[str, Any]:
    """Report the outcome (note, alert) and fail the task when the outcome is red."""
    counts = report(outcome)
    if outcome.red:
        raise BusinessFailure(outcome)
    return counts
