"""Approval flows: 合思 documents waiting at our E-Bot node → OA approval instances → the decision
back to 合思, exactly once, with the approval flow as the main line.

One run (:func:`route`), in this order, every step safe to repeat:

1. **see** every document (申请单 or 报销单) waiting at the node named ``node_name`` (合思's list, the
   catch-up for lost outbound messages): one ``fin.approval_flow`` row per document *version*; a newer
   version supersedes the older ones (a running OA instance of an older version is queued
   ``document_changed_in_approval`` for a person to withdraw in the OA).
2. **prepare** each new (or held) flow: the submitter's 工号, the budget check against the ERP
   (:mod:`expense_sync.approvals.budget`), the nodes from the approval matrix
   (:func:`expense_sync.approvals.matrix.nodes_for`), every approver's and the originator's OA
   account. Anything missing holds the flow with a reason in the exception queue; nothing is ever
   approved for want of an approver.
3. **request** the OA instance for each prepared flow through :func:`write_once` (key = the
   version's business key, carried in the instance's form): an answer lost after the OA committed is
   found by :meth:`OaApprovals.find_approval` and adopted, never created twice. A refusal holds the
   flow (``oa_refused_instance``, the OA's text).
4. **refresh** the running instances (those the OA's callbacks named, and all of them in the
   catch-up): approved or rejected in the OA → the flow takes the decision; withdrawn there → conflict.
   A pending task whose approver left, or no longer holds the role in the matrix in force, is handed
   to the new holder (:meth:`OaApprovals.transfer_task`, exactly once per task; an OA without that
   API gets a queue item for a person) and the hand-over is recorded in ``fin.approval_reassignment``.
5. **apply** each decision to 合思 through the E-Bot callback (:meth:`ExpenseApprovals.decide`),
   exactly once; a document that left the node without our decision, and a decision 合思 refuses,
   are conflicts for a person (the approval flow is the main line: nothing is decided silently).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import psycopg

from expense_sync.approvals.budget import BudgetCheck, OverBudgetRule
from expense_sync.approvals.contract import (
    AlreadyDecidedError,
    ApprovalDetail,
    ApprovalNode,
    ApprovalRequest,
    ApprovalTask,
    ExpenseApprovals,
    OaApprovals,
    TransferUnsupportedError,
    WaitingDocument,
)
from expense_sync.erp.budget import BudgetKey
from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.matrix import resolve as matrix
from expense_sync.store import inbox, queue, sqlfile
from expense_sync.store.exactly_once import Outcome, Write, settle, write_once
from expense_sync.store.locks import held

log = logging.getLogger(__name__)

SQL = "approvals/flows"  # include/sql/approvals/flows.sql
BUDGET_SQL = "approvals/budget"
SYSTEM, ENTITY = "ekuaibao", "approval"
HOLD_REASONS = [
    "employee_unknown",
    "cost_center_unknown",
    "over_budget",
    "approver_not_in_oa",
    "originator_not_in_oa",
    "oa_refused_instance",
    *matrix.REASON_CODES,
]
NOT_FOUND = "the OA does not know this approval instance"
OTHER_EVENTS = "names no approval flow of ours (e.g. an OA approval that only mirrors a 合思 flow)"


class Router:
    """One run over every open approval flow (see the module docstring)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        expense: ExpenseApprovals,
        oa: OaApprovals,
        budget: BudgetCheck | None,
        *,
        node_name: str,
        company: str,
        rule: OverBudgetRule,
        run_key: str | None,
    ) -> None:
        self.conn, self.expense, self.oa, self.budget = conn, expense, oa, budget
        self.node_name, self.company, self.rule, self.run_key = node_name, company, rule, run_key
        self.counts: Counter[str] = Counter()
        self._requests: dict[str, ApprovalRequest] = {}
        self._docs: dict[str, WaitingDocument] = {}

    # -- 1. see -----------------------------------------------------------------------------------
    def see(self, documents: Iterable[WaitingDocument]) -> set[str]:
        """Record each waiting document version; return the flow ids seen."""
        seen: set[str] = set()
        for doc in documents:
            seen.add(doc.flow_id)
            key = business_key(doc)
            cost_center, project, category = self.conn.execute(
                sqlfile.step(SQL, "codes"), {"cc": doc.cost_center, "pj": doc.project, "fee": doc.category}
            ).fetchone() or (None, None, None)
            with self.conn.transaction():
                row = self.conn.execute(
                    sqlfile.step(SQL, "see"),
                    {
                        "business_key": key,
                        "flow_id": doc.flow_id,
                        "code": doc.code,
                        "kind": doc.kind,
                        "version": doc.version,
                        "node_id": doc.node_id,
                        "staff_id": doc.staff_id,
                        "employee_no": doc.employee_no or self.employee_no(doc.staff_id),
                        "company": doc.company or self.company,
                        "cost_center": cost_center,
                        "project": project,
                        "category": category,
                        "amount": doc.amount,
                        "currency": doc.currency,
                        "oa_vendor": self.oa.vendor,
                    },
                ).fetchone()
                assert row is not None
                if not row[2]:
                    continue
                self.counts["seen"] += 1
                for _, code, instance, state in self.conn.execute(
                    sqlfile.step(SQL, "supersede"), {"flow_id": doc.flow_id, "business_key": key}
                ).fetchall():
                    self.counts["superseded"] += 1
                    if instance and state == "running":
                        self.open(
                            code, "document_changed_in_approval", f"OA instance {instance} still runs", "conflict"
                        )
        return seen

    def employee_no(self, staff_id: str) -> str | None:
        row = self.conn.execute(sqlfile.step(SQL, "employee_no"), (staff_id,)).fetchone()
        return row[0] if row else None

    # -- 2. prepare -------------------------------------------------------------------------------
    def prepare(self) -> None:
        for row in self.conn.execute(sqlfile.step(SQL, "to_prepare")).fetchall():
            approval_id, key, kind, code, employee_no, company, cost_center, project, category, amount, _, created = row
            try:
                with self.conn.transaction():
                    self._prepare(approval_id, key, kind, code, employee_no, company, cost_center, project, category,
                                  amount, created)  # fmt: skip
            except Held as hold:
                with self.conn.transaction():
                    self.conn.execute(sqlfile.step(SQL, "hold"), {"id": approval_id, "reason": hold.reason})
                    self.open(code, hold.reason, hold.detail)
                self.counts[f"held:{hold.reason}"] += 1

    def _prepare(
        self, approval_id, key, kind, code, employee_no, company, cost_center, project, category, amount, created
    ) -> None:
        if not employee_no:
            raise Held("employee_unknown", "the submitter has no 工号 in the org master")
        if not cost_center:
            raise Held("cost_center_unknown", "the document names no cost center the chart sync knows")
        over = False
        if self.budget is not None:
            verdict = self.budget.check(
                "approval",
                key,
                BudgetKey(company, cost_center, period_of(created), project, self.account(category)),
                amount,
                self.held_by_us(key, company, cost_center, project, period_of(created)),
            )
            if verdict.result == "unavailable":  # not the document's fault: it waits for the next run
                self.counts["budget_unavailable"] += 1
                return
            over = verdict.over
            if over and (verdict.forbidden or kind == "expense" or self.rule.requisition == "queue"):
                raise Held("over_budget", verdict.describe())
        try:
            chain = matrix.nodes_for(
                self.conn,
                company=company,
                cost_center=cost_center,
                category=category,
                amount=amount,
                submitter_employee_no=employee_no,
                over_budget=over,
            )
        except matrix.ChainError as err:
            raise Held(err.reason_code, str(err)) from None
        users = self.oa_users([no for _, nos in chain for no in nos] + [employee_no])
        missing = sorted({no for _, nos in chain for no in nos if no not in users})
        if missing:
            raise Held("approver_not_in_oa", f"no active {self.oa.vendor} account for {', '.join(missing)}")
        department = self.conn.execute(
            sqlfile.step(SQL, "oa_department"), {"system": self.oa.vendor, "no": employee_no}
        ).fetchone()
        if employee_no not in users or department is None:
            raise Held("originator_not_in_oa", f"{employee_no} has no {self.oa.vendor} account or department")
        nodes = [{"role": role, "approvers": list(nos), "oa_users": [users[no] for no in nos]} for role, nos in chain]
        nodes.append({"originator": users[employee_no], "department": department[0]})  # kept with the nodes
        self.conn.execute(
            sqlfile.step(SQL, "ready"),
            {
                "id": approval_id,
                "nodes": json.dumps(nodes, ensure_ascii=False),
                "matrix_version": current_version(self.conn),
                "over_budget": over,
            },
        )
        queue.clear_records(
            self.conn, kind="quarantine", system=SYSTEM, entity=ENTITY, keys=[code], run_key=self.run_key,
            reason_codes=HOLD_REASONS,
        )  # fmt: skip
        self.counts["prepared"] += 1

    def account(self, category: str | None) -> str | None:
        if not category:
            return None
        row = self.conn.execute(sqlfile.step(BUDGET_SQL, "category_account"), (category,)).fetchone()
        return row[0] if row else None

    def held_by_us(self, key: str, company: str, cost_center: str, project: str | None, period: str) -> Decimal:
        row = self.conn.execute(
            sqlfile.step(BUDGET_SQL, "held_requisitions"),
            {"company": company, "cost_center": cost_center, "project": project, "business_key": key,
             "period": period},
        ).fetchone()  # fmt: skip
        return Decimal(row[0]) if row else Decimal(0)

    def oa_users(self, employee_nos: list[str]) -> dict[str, str]:
        rows = self.conn.execute(
            sqlfile.step(SQL, "oa_users"), {"system": self.oa.vendor, "nos": sorted(set(employee_nos))}
        ).fetchall()
        return dict(rows)

    # -- 3. request -------------------------------------------------------------------------------
    def request(self) -> None:
        write = self.create_write()
        settle(self.conn, write)
        intents = []
        for _approval_id, key, code, kind, _, amount, currency, cc, project, category, nodes, _ in self.conn.execute(
            sqlfile.step(SQL, "to_request")
        ).fetchall():
            head = nodes[-1]
            request = ApprovalRequest(
                business_key=key,
                title=f"{'出差申请' if kind == 'requisition' else '费用报销'} {code}",
                originator=head["originator"],
                department=head["department"],
                nodes=tuple(ApprovalNode(n["role"], tuple(n["oa_users"])) for n in nodes[:-1]),
                form=(
                    ("业务单号", key),
                    ("单号", code),
                    ("金额", f"{amount} {currency}"),
                    ("成本中心", cc or ""),
                    ("项目", project or ""),
                    ("费用类型", category or ""),
                ),
            )
            self._requests[key] = request
            intents.append((key, {"request": dataclasses.asdict(request)}))
        for outcome in write_once(self.conn, write, intents, run_key=self.run_key):
            self.counts[f"request_{outcome.how}"] += 1

    def create_write(self) -> Write:
        def send(intents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
            return {key: self.oa.create_approval(self.request_of(key, state)) for key, state in intents}

        def lookup(keys: list[str]) -> dict[str, Any]:
            found = {}
            for key in keys:
                request = self._requests.get(key) or self.request_from_ledger(key)
                if request is None:
                    continue
                since = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
                if instance := self.oa.find_approval(request, since):
                    found[key] = instance
            return found

        def record(conn: psycopg.Connection, outcomes: list[Outcome]) -> None:
            for outcome in outcomes:
                conn.execute(sqlfile.step(SQL, "requested"), {"instance": outcome.created_id, "key": outcome.key})

        def refused(conn: psycopg.Connection, key: str, state: dict[str, Any], err: VendorRequestError) -> str:
            row = conn.execute(sqlfile.step(SQL, "request_refused"), {"key": key}).fetchone()
            self.open(row[0] if row else key, "oa_refused_instance", err.message[:400], conn=conn)
            return "failed"

        return Write(target=self.oa.vendor, entity="approval", send=send, lookup=lookup, record=record,
                     refused=refused, batch=1)  # fmt: skip

    def request_of(self, key: str, state: dict[str, Any]) -> ApprovalRequest:
        return self._requests.get(key) or request_from_state(state["request"])

    def request_from_ledger(self, key: str) -> ApprovalRequest | None:
        row = self.conn.execute(sqlfile.step(SQL, "ledger_payload"), (self.oa.vendor, "approval", key)).fetchone()
        return request_from_state(row[0]["request"]) if row and row[0] and "request" in row[0] else None

    # -- 4. refresh -------------------------------------------------------------------------------
    def consume_events(self) -> set[str]:
        """The OA's callbacks in the inbox: the instances of ours they name (processed; the rest, e.g.
        approvals that only mirror a 合思 flow, ignored)."""
        named: set[str] = set()
        while True:
            with self.conn.transaction():
                contacts = sorted(getattr(self.oa, "contact_events", ()))  # org_sync_daily's own events
                events = inbox.claim(self.conn, limit=1000, sources=[self.oa.vendor], except_types=contacts)
                if not events:
                    return named
                subjects = sorted({e.subject for e in events if e.subject})
                rows = self.conn.execute(sqlfile.step(SQL, "by_instance"), (self.oa.vendor, subjects)).fetchall()
                ours = {row[0] for row in rows}
                inbox.mark_processed(self.conn, [e.event_id for e in events if e.subject in ours])
                inbox.mark_ignored(self.conn, [e.event_id for e in events if e.subject not in ours], OTHER_EVENTS)
            named |= ours
            self.counts["oa_events"] += len(events)

    def refresh(self, only: set[str] | None = None) -> None:
        for row in self.conn.execute(sqlfile.step(SQL, "running"), (self.oa.vendor,)).fetchall():
            (
                approval_id,
                _,
                flow_id,
                code,
                instance,
                nodes,
                employee_no,
                company,
                cc,
                category,
                amount,
                over,
                _,
                staff,
            ) = row
            if only is not None and instance not in only:
                continue
            try:
                detail = self.oa.approval(instance)
            except VendorRequestError as err:
                self.conflict(approval_id, code, "oa_withdrawn", f"{NOT_FOUND}: {err.message[:300]}")
                continue
            if detail.state == "running":
                self.reassign(Doc(approval_id, code, flow_id, staff), detail, nodes, dict(
                    company=company, cost_center=cc, category=category, amount=amount,
                    submitter_employee_no=employee_no, over_budget=bool(over)))  # fmt: skip
            elif detail.state == "withdrawn":
                self.conflict(approval_id, code, "oa_withdrawn", f"instance {instance}")
            else:
                self.conn.execute(
                    sqlfile.step(SQL, "decided"),
                    {
                        "id": approval_id,
                        "state": detail.state,
                        "decision": "accept" if detail.state == "approved" else "refuse",
                        "by": detail.decided_by,
                        "comment": detail.comment,
                    },
                )
                self.counts[f"oa_{detail.state}"] += 1

    def reassign(self, doc: Doc, detail: ApprovalDetail, nodes: list, chain_args: dict) -> None:
        """Hand every pending task whose approver left or lost the role to the role's holder now, and
        tell 合思 (a comment on the document) what became of it."""
        approval_id, code = doc.approval_id, doc.code
        pending = [t for t in detail.tasks if t.state == "pending"]
        if not pending:
            return
        try:
            current = dict(matrix.nodes_for(self.conn, **chain_args))
        except matrix.ChainError as err:
            current, why = {}, str(err)
        else:
            why = ""
        for task in pending:
            no, active = self.employee_of(task.approver)
            role = role_of(nodes, task)
            holders = current.get(role, ()) if role else ()
            if active and no in holders:
                continue
            reason = "approver_inactive" if not active else "matrix_changed"
            successor = next(iter(self.oa_users([h for h in holders if h != no]).values()), None) if holders else None
            if successor is None:
                self.record_reassignment(approval_id, task, role, None, reason, "no_successor", why or "no holder")
                self.open(code, "reassign_by_hand", f"task {task.task_id} of {task.approver}: no successor")
                continue
            done = self.transfer(approval_id, code, detail.instance_id, task, role, successor, reason)
            why_text = "原审批人已离职" if reason == "approver_inactive" else "审批矩阵已变更"
            what = "已转交" if done else f"{self.oa.vendor} 无法经接口转交，请在 OA 中转交"
            self.tell(doc, f"{detail.instance_id}:{task.task_id}",
                      f"审批人变更（{role}，{why_text}）：{task.approver} → {successor}，{what}")  # fmt: skip

    def tell(self, doc: Doc, key: str, text: str) -> None:
        """One comment on the 合思 document, exactly once: its marker ``[expense-sync <key>]`` is looked
        for among the document's comments before anything is sent again."""
        marker = f"[expense-sync {key}]"

        def send(intents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
            self.expense.comment(doc.flow_id, doc.staff_id, f"{text} {marker}")
            return {key: doc.flow_id}

        def lookup(keys: list[str]) -> dict[str, Any]:
            return {key: doc.flow_id} if any(marker in c for c in self.expense.comments(doc.flow_id)) else {}

        def refused(conn: psycopg.Connection, k: str, state: dict[str, Any], err: VendorRequestError) -> str:
            log.warning("合思 refused the comment on %s: %s", doc.code, err)
            return "failed"  # the hand-over stands; 合思's refusal is in the ledger (sync.outbound)

        write = Write(target=SYSTEM, entity="ebot_comment", send=send, lookup=lookup, refused=refused, batch=1)
        for outcome in write_once(self.conn, write, [(key, {"text": text})], run_key=self.run_key):
            self.counts[f"told_{outcome.how}"] += 1

    def transfer(self, approval_id, code, instance, task: ApprovalTask, role, to_user: str, reason: str) -> bool:
        """Hand the task over once; whether the OA holds it with ``to_user`` now."""
        key = f"{instance}:{task.task_id}"

        def send(intents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
            try:
                self.oa.transfer_task(instance, task, to_user, f"审批人变更（{reason}）")
            except TransferUnsupportedError as err:
                raise VendorRequestError(str(err), vendor=self.oa.vendor, endpoint="transfer") from None
            return {key: to_user}

        def lookup(keys: list[str]) -> dict[str, Any]:
            tasks = self.oa.approval(instance).tasks
            return {key: to_user} if any(t.approver == to_user and t.state == "pending" for t in tasks) else {}

        def record(conn: psycopg.Connection, outcomes: list[Outcome]) -> None:
            self.record_reassignment(approval_id, task, role, to_user, reason, "transferred", "", conn)

        def refused(conn: psycopg.Connection, k: str, state: dict[str, Any], err: VendorRequestError) -> str:
            outcome = "unsupported" if err.endpoint == "transfer" else "refused"
            self.record_reassignment(approval_id, task, role, to_user, reason, outcome, err.message[:300], conn)
            self.open(code, "reassign_by_hand", f"task {task.task_id}: {task.approver} → {to_user}: {err.message}")
            return "blocked"

        write = Write(target=self.oa.vendor, entity="approval_transfer", send=send, lookup=lookup, record=record,
                      refused=refused, batch=1)  # fmt: skip
        outcomes = write_once(self.conn, write, [(key, {"to": to_user, "from": task.approver})], run_key=self.run_key)
        for outcome in outcomes:
            self.counts[f"transfer_{outcome.how}"] += 1
        return all(outcome.how != "refused" for outcome in outcomes)

    def employee_of(self, oa_user: str) -> tuple[str | None, bool]:
        row = self.conn.execute(sqlfile.step(SQL, "employee_of_oa_user"), (self.oa.vendor, oa_user)).fetchone()
        return (row[0], bool(row[1])) if row else (None, False)

    def record_reassignment(self, approval_id, task, role, to_user, reason, outcome, detail, conn=None) -> None:
        (conn or self.conn).execute(
            sqlfile.step(SQL, "reassigned"),
            {
                "id": approval_id,
                "task": task.task_id,
                "role": role,
                "from": task.approver,
                "to": to_user,
                "reason": reason,
                "outcome": outcome,
                "detail": detail,
                "matrix_version": current_version(conn or self.conn),
            },
        )

    # -- 5. apply ---------------------------------------------------------------------------------
    def apply(self) -> None:
        write = Write(target=SYSTEM, entity="ebot_decision", send=self.send_decisions, record=self.record_applied,
                      refused=self.decision_refused, batch=1)  # fmt: skip
        for approval_id, key, flow_id, code, _node_id, version, decision, comment in self.conn.execute(
            sqlfile.step(SQL, "to_apply")
        ).fetchall():
            doc = self.expense.waiting_document(flow_id, self.node_name)
            if doc is None or doc.version != version:
                if self.sent_before(key):  # our earlier call went through and its answer was lost
                    with self.conn.transaction():
                        self.record_applied(self.conn, [Outcome(key, "adopted", in_doubt=True)])
                    self.counts["decision_adopted"] += 1
                else:
                    self.conflict(approval_id, code, "expense_moved_on", f"the OA decided {decision}")
                continue
            self._docs[key] = doc
            for outcome in write_once(self.conn, write, [(key, {"decision": decision, "comment": comment})],
                                      run_key=self.run_key):  # fmt: skip
                self.counts[f"decision_{outcome.how}"] += 1

    def send_decisions(self, intents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        answers = {}
        for key, state in intents:
            try:
                self.expense.decide(self._docs[key], state["decision"], state["comment"])
            except AlreadyDecidedError as err:  # a race with another run: the next run settles it by looking
                raise OutcomeUnknownError(str(err), vendor=SYSTEM, endpoint="/api/outbound/v1/approval") from None
            answers[key] = state["decision"]
        return answers

    def record_applied(self, conn: psycopg.Connection, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            conn.execute(sqlfile.step(SQL, "applied"), (outcome.key,))

    def decision_refused(
        self, conn: psycopg.Connection, key: str, state: dict[str, Any], err: VendorRequestError
    ) -> str:
        row = conn.execute(sqlfile.step(SQL, "of_key"), (key,)).fetchone()
        if row:
            conn.execute(sqlfile.step(SQL, "conflict"), {"id": row[0], "reason": "ebot_refused"})
            self.open(row[1], "ebot_refused", err.message[:400], "conflict", conn)
        return "failed"

    def sent_before(self, key: str) -> bool:
        row = self.conn.execute(sqlfile.step(SQL, "ledger_state"), (SYSTEM, "ebot_decision", key)).fetchone()
        return row is not None and row[0] in ("sending", "done")

    # -- the rest ---------------------------------------------------------------------------------
    def moved_on(self, waiting: set[str]) -> None:
        """Running flows whose document no longer waits at the node: 合思 moved on without the OA."""
        for approval_id, _, flow_id, code, instance, *_ in self.conn.execute(
            sqlfile.step(SQL, "running"), (self.oa.vendor,)
        ).fetchall():
            if flow_id not in waiting:
                self.conflict(approval_id, code, "expense_moved_on", f"OA instance {instance} still runs")

    def conflict(self, approval_id: int, code: str, reason: str, detail: str) -> None:
        with self.conn.transaction():
            self.conn.execute(sqlfile.step(SQL, "conflict"), {"id": approval_id, "reason": reason})
            self.open(code, reason, detail, "conflict")
        self.counts[f"conflict:{reason}"] += 1

    def open(self, code: str, reason: str, detail: str, kind: str = "quarantine", conn=None) -> None:
        queue.open_item(conn or self.conn, kind=kind, system=SYSTEM, entity=ENTITY, record_key=code,
                        reason_code=reason, detail=detail, run_key=self.run_key)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Doc:
    """The 合思 document of a running flow, as the reassignment needs it."""

    approval_id: int
    code: str
    flow_id: str
    staff_id: str


class Held(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def current_version(conn: psycopg.Connection) -> int | None:
    """The approval matrix version in force (``None`` before a first one is derived)."""
    row = conn.execute(sqlfile.step(matrix.SQL, "in_force")).fetchone()
    return row[0] if row else None


def business_key(doc: WaitingDocument) -> str:
    return f"{doc.flow_id}:{doc.version}"


def period_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")


def role_of(nodes: list[dict[str, Any]], task: ApprovalTask) -> str | None:
    """The role a task belongs to: the node the OA names, else the node whose OA users hold its approver."""
    roles = [n for n in nodes if "role" in n]
    if task.node is not None and 0 <= task.node < len(roles):
        return roles[task.node]["role"]
    return next((n["role"] for n in roles if task.approver in n["oa_users"]), None)


def request_from_state(state: dict[str, Any]) -> ApprovalRequest:
    return ApprovalRequest(
        business_key=state["business_key"],
        title=state["title"],
        originator=state["originator"],
        department=state["department"],
        nodes=tuple(ApprovalNode(n["role"], tuple(n["approvers"])) for n in state["nodes"]),
        form=tuple((label, value) for label, value in state["form"]),
    )


def route(
    conn: psycopg.Connection,
    expense: ExpenseApprovals,
    oa: OaApprovals,
    budget: BudgetCheck | None,
    *,
    node_name: str,
    company: str,
    rule: OverBudgetRule,
    run_key: str | None,
    catch_up: bool = True,
) -> dict[str, Any]:
    """One run over the approval flows (see the module docstring); returns its counts. One run at a
    time (an advisory lock): the exactly-once ledger guards each call, the lock keeps runs readable."""
    router = Router(conn, expense, oa, budget, node_name=node_name, company=company, rule=rule, run_key=run_key)
    with held(conn, "approvals/route"):
        named = router.consume_events()
        if catch_up:
            waiting = router.see(expense.waiting_documents(node_name))
        router.prepare()
        router.request()
        router.refresh(None if catch_up else named)
        router.apply()
        if catch_up:
            router.moved_on(waiting)
        router.counts.update({f"flows:{s}": n for s, n in conn.execute(sqlfile.step(SQL, "counts")).fetchall()})
    return dict(router.counts)
