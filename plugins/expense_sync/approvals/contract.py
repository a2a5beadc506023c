"""What the approval engine needs from an OA and from 合思: the contracts their hooks implement.

Vendor shapes never cross these lines: each hook (``hooks/dingtalk``, ``hooks/wecom``,
``hooks/ekuaibao``) turns its wire format into the types below. Canonical approval states are the
ones :meth:`expense_sync.org.directory.DirectorySource.approval_state` already answers: ``running``,
``approved``, ``rejected``, ``withdrawn``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

ApprovalState = Literal["running", "approved", "rejected", "withdrawn"]
TaskState = Literal["pending", "approved", "rejected", "transferred", "canceled"]
Role = Literal["主管", "财务", "总监"]


class TransferUnsupportedError(RuntimeError):
    """The OA has no API to hand a waiting task to another person: a person must do it in the OA."""


@dataclass(frozen=True)
class ApprovalNode:
    """One step of an approval flow: any one of ``approvers`` (OA user ids) decides it (或签)."""

    role: Role
    approvers: tuple[str, ...]


@dataclass(frozen=True)
class ApprovalRequest:
    """An approval instance to create in the OA for one version of one 合思 document.

    ``business_key`` (``<flowId>:<version>``) is unique per document version; the hook writes it into
    the instance (a form field) so that :meth:`OaApprovals.find_approval` can find an instance whose
    create committed but whose answer was lost. ``form`` is what approvers read: (label, value) pairs.
    """

    business_key: str
    title: str
    originator: str  # OA user id of the employee
    department: str  # OA department id the originator files from
    nodes: tuple[ApprovalNode, ...]
    form: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ApprovalTask:
    """One person's task in a running or finished instance."""

    task_id: str
    approver: str  # OA user id
    state: TaskState
    node: int | None = None  # index into the request's nodes when the OA says; None when it does not


@dataclass(frozen=True)
class ApprovalDetail:
    """An instance as the OA holds it now."""

    instance_id: str
    state: ApprovalState
    business_key: str | None  # read back from the instance's form; None when absent
    tasks: tuple[ApprovalTask, ...] = ()
    comment: str = ""  # the deciding approver's remark (the last refuse/agree with text)
    decided_by: str | None = None  # OA user id of the last approver who acted
    finished_at: dt.datetime | None = None


class OaApprovals(Protocol):
    """The approval side of an OA hook (DingTalk, WeCom)."""

    vendor: str

    def create_approval(self, request: ApprovalRequest) -> str:
        """Create the instance; answer its id. Not idempotent: the caller records its intent first and,
        after an unknown outcome, calls :meth:`find_approval` before anything is sent again."""

    def find_approval(self, request: ApprovalRequest, since: dt.datetime) -> str | None:
        """The id of the instance carrying ``request.business_key`` that ``request.originator`` started
        since ``since``, or ``None``."""

    def approval(self, instance_id: str) -> ApprovalDetail:
        """The instance now, with its tasks. Raises ``VendorRequestError`` when the OA has no such id."""

    def transfer_task(self, instance_id: str, task: ApprovalTask, to_user: str, remark: str) -> None:
        """Hand a pending task to another approver (转交). Raises :class:`TransferUnsupportedError` where
        the OA has no such API."""


DocumentKind = Literal["requisition", "expense"]


@dataclass(frozen=True)
class WaitingDocument:
    """A 合思 document (申请单 or 报销单) waiting at the E-Bot node that hands its approval to us.

    ``version`` changes whenever the document's content changes (合思's ``updateTime``); amounts are
    Decimal in the document's currency. ``staff_id`` is 合思's staff id; ``employee_no`` the 工号 when
    the document carries it. ``cost_center`` / ``project`` are 合思's dimension item ids and
    ``category`` its fee type id, as the document holds them: the engine maps them to the middle
    platform's codes with the chart sync's crosswalk, as the claims' validation does.
    """

    flow_id: str
    code: str  # 单号
    kind: DocumentKind
    node_id: str  # the E-Bot node's id, as the E-Bot callback wants it
    version: str
    title: str
    staff_id: str
    employee_no: str | None
    company: str | None
    cost_center: str | None  # 合思 dimension item id
    project: str | None  # 合思 dimension item id
    category: str | None  # fee type (合思 id; the engine maps it to an expense category)
    amount: Decimal
    currency: str = "CNY"
    submitted_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


Decision = Literal["accept", "refuse"]


class ExpenseApprovals(Protocol):
    """The approval side of the 合思 hook."""

    vendor: str

    def waiting_documents(self, node_name: str, since: str | None = None) -> list[WaitingDocument]:
        """Documents (both kinds) currently waiting at the E-Bot node named ``node_name``; the catch-up
        for missed outbound messages. ``since``: ``"yyyy-MM-dd HH:mm:ss"``, documents changed since."""

    def waiting_document(self, flow_id: str, node_name: str) -> WaitingDocument | None:
        """One document if it waits at that node now, else ``None`` (approved, withdrawn, elsewhere)."""

    def comment(self, flow_id: str, staff_id: str, text: str) -> None:
        """A comment on a document, as ``staff_id`` (评论单据). Not idempotent."""

    def comments(self, flow_id: str) -> list[str]:
        """The comments on a document, oldest first."""

    def decide(self, document: WaitingDocument, decision: Decision, comment: str) -> None:
        """The E-Bot callback (``POST /api/outbound/v1/approval``): accept or refuse at ``node_id``.
        An overwrite as far as the caller's protocol goes: a decision 合思 already applied is refused
        by 合思 with a message the hook turns into :class:`AlreadyDecidedError`."""


class AlreadyDecidedError(RuntimeError):
    """合思 says the node was already decided (an earlier attempt went through)."""
