"""Helpers of the ERP chart tests: the same change in each ERP's own terms, what 合思 and the middle
platform hold, and a person answering conflict questions through Airflow's REST API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

ERPS = ["kingdee", "yonyou", "sap"]
DAG = "expense_category_sync_weekly"
HITL_TASK = "ask_for_decisions"
USER, PASSWORD = "li.na", "sandbox-hitl-password"  # the decider of every kind of question
OTHER_USER = "wang.wei"  # may use the UI, is named for no kind of question
REASON = "checked against the ERP ledger, ticket FIN-118"
DIMENSIONS = {"cost_center": "成本中心", "project": "项目"}


class ErpWorld:
    """One change, said in each sandbox ERP's control API (``POST /_sandbox/mutate``)."""

    def __init__(self, vendor: str, sandboxes) -> None:
        self.vendor, self.control = vendor, sandboxes.control(vendor)

    def rename_cost_center(self, code: str, name: str) -> None:
        self._do(
            kingdee=("rename", {"form": "BD_Department", "number": code, "name": name}),
            yonyou=("rename_record", {"kind": "costcenter", "code": code, "name": name}),
            sap=("rename_cost_center", {"cost_center": code, "name": name}),
        )

    def close_project(self, code: str) -> None:
        self._do(
            kingdee=("forbid", {"form": "BD_Project", "number": code}),
            yonyou=("disable_record", {"kind": "project", "code": code}),
            sap=("set_project_status", {"project": code, "status": "42"}),
        )

    def add_expense_category(self, code: str, name: str, gl_account: str) -> None:
        """A new expense item posting to ``gl_account`` (SAP: a new expense account, posting to itself)."""
        self._do(
            kingdee=("add", {"form": "BD_Expense", "number": code, "name": name, "account": gl_account}),
            yonyou=("add_record", {"kind": "expenseitem", "code": code, "name": name, "accsubject_code": gl_account}),
            sap=("add_gl_account", {"gl_account": code, "name": name, "group": "EXPN", "type": "P"}),
        )

    def add_cost_center(self, code: str, name: str, owner_unit: str) -> None:
        self._do(
            yonyou=("add_record", {"kind": "costcenter", "code": code, "name": name, "dept_code": owner_unit}),
            sap=("add_cost_center", {"cost_center": code, "name": name, "department": owner_unit}),
        )

    def block_gl_account(self, code: str) -> None:
        self._do(
            kingdee=("forbid", {"form": "BD_Account", "number": code}),
            yonyou=("disable_record", {"kind": "accsubject", "code": code}),
        )

    def unblock_gl_account(self, code: str) -> None:
        self._do(
            kingdee=("enable", {"form": "BD_Account", "number": code}),
            yonyou=("enable_record", {"kind": "accsubject", "code": code}),
        )

    def add_sub_account(self, parent: str, name: str) -> str:
        """A sub-account under ``parent``, which stops being a postable leaf; returns its code."""
        code = {"kingdee": f"{parent}.01", "yonyou": f"{parent}01"}[self.vendor]
        self._do(
            kingdee=("add", {"form": "BD_Account", "number": code, "name": name}),
            yonyou=("add_record", {"kind": "accsubject", "code": code, "name": name, "parent_code": parent}),
        )
        return code

    def new_code(self, entity: str) -> str:
        """A code the ERP's scheme accepts for a new record."""
        return {
            ("kingdee", "expense_category"): "FYXM9001",
            ("yonyou", "expense_category"): "99",
            ("sap", "expense_category"): "6602999000",
            ("yonyou", "cost_center"): "CC99",
            ("sap", "cost_center"): "1000999999",
        }[(self.vendor, entity)]

    def _do(self, **ops: tuple[str, dict]) -> None:
        op, args = ops[self.vendor]
        self.control.mutate(op, **args)


def seed_org_units(conn, vendor: str) -> list[str]:
    """The org master (org_sync_daily's tables) with every department the ERP's cost centers name."""
    from expense_sync import mapping
    from expense_sync.hooks.registry import erp_hook

    spec = mapping.load(vendor, "cost_center")  # the ERP's records as they land in staging
    records = erp_hook(vendor).chart("cost_center")
    owners = sorted({owner for r in records if (owner := spec.apply(r)[1].get("owner_unit"))})
    conn.execute(
        "INSERT INTO mdm.org_unit (code, name, source_updated_at) VALUES ('ROOT', '示例集团', now()) "
        "ON CONFLICT (code) DO NOTHING"
    )
    for code in owners:
        conn.execute(
            "INSERT INTO mdm.org_unit (code, name, parent_id, source_updated_at) "
            "SELECT %s, %s, org_unit_id, now() FROM mdm.org_unit WHERE code = 'ROOT' ON CONFLICT (code) DO NOTHING",
            (code, f"部门{code}"),
        )
    return owners


def expense_items(sandboxes, entity: str) -> dict[str, dict]:
    """合思's items of the cost center or project category, by code (parents by code)."""
    dump = sandboxes.control("ekuaibao").state()
    category = next(c["id"] for c in dump["dimensions"] if c["name"] == DIMENSIONS[entity])
    items = [i for i in dump["dimensionItems"] if i["dimensionId"] == category]
    code_of = {i["id"]: i["code"] for i in items}
    return {
        i["code"]: {"name": i["name"], "parent": code_of.get(i["parentId"], ""), "active": i["active"]} for i in items
    }


def canonical_items(conn, entity: str) -> dict[str, dict]:
    """Canonical cost centers or projects in the shape of :func:`expense_items`."""
    table = {"cost_center": "mdm.cost_center", "project": "mdm.project"}[entity]
    rows = conn.execute(f"SELECT code, name, COALESCE(parent_code, ''), active FROM {table}").fetchall()
    return {code: {"name": name, "parent": parent, "active": active} for code, name, parent, active in rows}


def chart_state(conn) -> dict[str, Any]:
    """The canonical chart and the category mappings by business key (no surrogate ids or times)."""
    out: dict[str, Any] = {}
    for table, cols in {
        "gl_account": "code, name, parent_code, postable, account_class, active",
        "expense_category": "code, name, gl_account_code, active",
        "cost_center": "code, name, parent_code, owner_unit, valid_from, valid_to, active",
        "project": "code, name, active",
    }.items():
        out[table] = sorted(conn.execute(f"SELECT {cols} FROM mdm.{table}").fetchall())
    out["mapping"] = sorted(
        conn.execute(
            "SELECT c.code, f.code, m.state FROM mdm.category_fee_type m JOIN mdm.expense_category c "
            "USING (expense_category_id) LEFT JOIN mdm.fee_type f USING (fee_type_id)"
        ).fetchall()
    )
    return out


def chart_writes(conn) -> str | None:
    """The latest canonical write of the chart (a run that writes nothing leaves it unchanged)."""
    return conn.execute(
        "SELECT max(t)::text FROM (SELECT max(updated_at) t FROM mdm.gl_account UNION ALL "
        "SELECT max(updated_at) FROM mdm.expense_category UNION ALL SELECT max(updated_at) FROM mdm.cost_center "
        "UNION ALL SELECT max(updated_at) FROM mdm.project "
        "UNION ALL SELECT max(updated_at) FROM mdm.category_fee_type) x"
    ).fetchone()[0]


def open_conflicts(conn) -> dict[tuple[str, str], tuple[str, str]]:
    """(entity, record key) -> (reason, status) of every conflict not resolved."""
    rows = conn.execute(
        "SELECT entity, record_key, reason_code, status FROM sync.exception_item "
        "WHERE kind = 'conflict' AND status <> 'resolved'"
    ).fetchall()
    return {(entity, key): (reason, status) for entity, key, reason, status in rows}


def parked_questions(dag: str = DAG, task: str = HITL_TASK) -> list[tuple[str, int]]:
    """(run id, map index) of every question of ``dag``'s ``task`` waiting for an answer."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(TaskInstance.run_id, TaskInstance.map_index).where(
                    TaskInstance.dag_id == dag,
                    TaskInstance.task_id == task,
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                )
            ).all()
        ]


class _Background:
    """Something that happens in the Airflow UI or scheduler while ``dag.test()`` waits."""

    def __init__(self, *, expected: int, dag: str = DAG, task: str = HITL_TASK) -> None:
        self.expected, self.dag, self.task = expected, dag, task
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._guarded, daemon=True)
        self.stop = threading.Event()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)

    def _guarded(self) -> None:
        try:
            self._serve()
        except Exception as err:  # surfaced by the test, which reads .errors
            self.errors.append(repr(err))

    def _serve(self) -> None:
        raise NotImplementedError


class NobodyAnswers(_Background):
    """Nobody answers: once every question waits, the clock passes their deadline and the scheduler's
    own timeout sweep resolves them with their defaults."""

    def _serve(self) -> None:
        import datetime as dt

        from airflow.jobs.job import Job
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import update

        while not self.stop.is_set() and len(parked_questions(self.dag, self.task)) < self.expected:
            time.sleep(0.3)
        with create_session() as session:
            session.execute(
                update(TaskInstance)
                .where(TaskInstance.dag_id == self.dag, TaskInstance.task_id == self.task)
                .values(trigger_timeout=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
            )
        SchedulerJobRunner(job=Job(), executors=[]).check_awaiting_input_timeouts()


class Responder(_Background):
    """A person at the Airflow UI: answers each parked conflict question through the HITL REST API
    of an in-process API server sharing the metadata DB, choosing with ``choose(subject, body)`` and
    giving ``reason`` (``None``: the form's reason left out). Before each answer, ``OTHER_USER``
    tries to answer it too; the HTTP status they got is in ``refused_others``."""

    def __init__(
        self, choose: Callable[[str, str], str], *, expected: int, reason: str | None = REASON, **where: str
    ) -> None:
        super().__init__(expected=expected, **where)
        self.choose = choose
        self.reason = reason
        self.answered: list[dict] = []
        self.refused_others: list[int] = []

    def _serve(self) -> None:
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        client = TestClient(create_app())
        headers, other = (_bearer(client, user) for user in (USER, OTHER_USER))
        params_input = {} if self.reason is None else {"reason": self.reason}
        done: set[tuple[str, int]] = set()
        while not self.stop.is_set() and len(done) < self.expected:
            for run_id, map_index in parked_questions(self.dag, self.task):
                if (run_id, map_index) in done:
                    continue
                path = f"/api/v2/dags/{self.dag}/dagRuns/{run_id}/taskInstances/{self.task}/{map_index}/hitlDetails"
                detail = client.get(path, headers=headers).json()
                option = self.choose(detail["subject"], detail["body"])
                body = {"chosen_options": [option], "params_input": params_input}
                self.refused_others.append(client.patch(path, headers=other, json=body).status_code)
                answer = client.patch(path, headers=headers, json=body)
                if answer.status_code != 200:
                    self.errors.append(f"{answer.status_code} {answer.text}")
                self.answered.append({"subject": detail["subject"], "option": option, **answer.json()})
                done.add((run_id, map_index))
            time.sleep(0.3)


def _bearer(client, user: str) -> dict[str, str]:
    login = client.post("/auth/token", json={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def enable_ui_login(monkeypatch, tmp_path) -> None:
    """Let ``li.na`` (the decider of every kind of question) and ``wang.wei`` (an admin named for
    none) log in to the API server (Airflow's simple auth manager, a password file)."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD, OTHER_USER: PASSWORD}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", f"{USER}:admin,{OTHER_USER}:admin")
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_DECIDERS", json.dumps({"chart": [USER], "org": [USER]}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "expense-sync-tests-" + "x" * 48)
