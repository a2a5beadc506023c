"""The 合思 hook: one class composed of the API areas (``contacts``, ``feetypes``, ``dimensions``,
``flows``, ``invoices``, ``budgets``, ``approvals`` (E-Bot), ``bookings``) over the shared transport
(``client``).

Wire facts and what stays inferred: ``docs/vendors/ekuaibao.md``."""

from __future__ import annotations

from expense_sync.hooks.ekuaibao.approvals import ApprovalsApi, CommentsApi
from expense_sync.hooks.ekuaibao.bookings import BookingsApi
from expense_sync.hooks.ekuaibao.budgets import BudgetsApi
from expense_sync.hooks.ekuaibao.contacts import ContactsApi
from expense_sync.hooks.ekuaibao.dimensions import DimensionsApi
from expense_sync.hooks.ekuaibao.feetypes import FeeTypesApi
from expense_sync.hooks.ekuaibao.flows import FlowsApi
from expense_sync.hooks.ekuaibao.invoices import InvoicesApi


class EkuaibaoHook(
    ContactsApi, FeeTypesApi, DimensionsApi, ApprovalsApi, CommentsApi, FlowsApi, InvoicesApi, BudgetsApi, BookingsApi
):
    """合思 open API (``/api/openapi/...``) on connection ``expense_ekuaibao``."""

    default_conn_name = "expense_ekuaibao"
    hook_name = "合思 Ekuaibao"
    vendor = "ekuaibao"
    role = "expense"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
