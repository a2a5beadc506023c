"""The OData services the sandbox serves, declared as in their ``$metadata`` (docs/vendors/research.md §6.2–6.4).

Entity, property and navigation names, keys, lengths and types follow the EDMX files named in
docs/vendors/research.md §6 (``API_GLACCOUNTINCHARTOFACCOUNTS_SRV``, ``API_COSTCENTER_SRV``,
``API_JOURNALENTRYITEMBASIC_SRV``), trimmed to the properties this package and common clients read.

[I] choices:

* ``A_JournalEntryItemBasic`` also carries the document-level properties newer releases add
  (``AccountingDocument``, ``AccountingDocumentItem``, ``AccountingDocumentType``,
  ``DocumentReferenceID``, ``AccountingDocumentHeaderText``, ``PostingDate``, ``DocumentDate``,
  ``DebitCreditCode``, ``DocumentItemText``); the older metadata in docs/vendors/research.md §6.4 lacks them.
* ``API_ENTERPRISE_PROJECT_SRV;v=0002`` / ``A_EnterpriseProject`` is trimmed to the properties of
  its ``$metadata`` (EP-EDMX in docs/vendors/sap.md) that this package and common clients read.
"""

from __future__ import annotations

from expense_sync_sandboxes.sap.budget import PLAN_SERVICE  # the budget center's plan data: budget.py
from expense_sync_sandboxes.sap.edm import EntitySet, Nav, Prop, Service

UPPER = {"display-format": "UpperCase"}
DATE = {"display-format": "Date"}


def s(name: str, length: int, *, key: bool = False, upper: bool = True, **sap: str) -> Prop:
    return Prop(name, "Edm.String", length, nullable=not key, sap={**(UPPER if upper else {}), **sap})


def b(name: str) -> Prop:
    return Prop(name, "Edm.Boolean", sap=dict(UPPER))


def d(name: str, *, key: bool = False, **sap: str) -> Prop:
    return Prop(name, "Edm.DateTime", nullable=not key, precision=0, sap={**DATE, **sap})


def ts(name: str) -> Prop:
    return Prop(name, "Edm.DateTimeOffset", precision=0)


def dim(name: str, length: int, upper: bool = True) -> Prop:
    return s(name, length, upper=upper, **{"aggregation-role": "dimension"})


def measure(name: str, unit: str) -> Prop:
    return Prop(
        name,
        "Edm.Decimal",
        precision=24,
        scale=3,
        sap={"aggregation-role": "measure", "unit": unit, "filterable": "false"},
    )


GL_ACCOUNT = EntitySet(
    "A_GLAccountInChartOfAccounts",
    ("ChartOfAccounts", "GLAccount"),
    (
        s("ChartOfAccounts", 4, key=True),
        s("GLAccount", 10, key=True),
        b("IsBalanceSheetAccount"),
        s("GLAccountGroup", 4),
        s("CorporateGroupAccount", 10),
        s("ProfitLossAccountType", 2),
        s("SampleGLAccount", 10),
        b("AccountIsMarkedForDeletion"),
        b("AccountIsBlockedForCreation"),
        b("AccountIsBlockedForPosting"),
        b("AccountIsBlockedForPlanning"),
        s("PartnerCompany", 6),
        s("FunctionalArea", 16),
        d("CreationDate"),
        s("CreatedByUser", 12),
        ts("LastChangeDateTime"),
        s("GLAccountType", 1),
        s("GLAccountExternal", 10),
        b("IsProfitLossAccount"),
    ),
    (Nav("to_Text", "A_GLAccountText", ("ChartOfAccounts", "GLAccount")),),
    label="API G/L Account In Chart Of Accounts",
)
GL_ACCOUNT_TEXT = EntitySet(
    "A_GLAccountText",
    ("ChartOfAccounts", "GLAccount", "Language"),
    (
        s("ChartOfAccounts", 4, key=True),
        s("GLAccount", 10, key=True),
        Prop("Language", "Edm.String", 2, nullable=False),
        s("GLAccountName", 20, upper=False),
        s("GLAccountLongName", 50, upper=False),
        ts("LastChangeDateTime"),
    ),
    (
        Nav(
            "to_GLAccountInChartOfAccounts",
            "A_GLAccountInChartOfAccounts",
            ("ChartOfAccounts", "GLAccount"),
            many=False,
        ),
    ),
    label="API General Ledger Account Text",
)
GL_SERVICE = Service("API_GLACCOUNTINCHARTOFACCOUNTS_SRV", (GL_ACCOUNT, GL_ACCOUNT_TEXT))

_COST_CENTER_PROPS = (
    s("ControllingArea", 4, key=True),
    s("CostCenter", 10, key=True),
    d("ValidityEndDate", key=True),
    d("ValidityStartDate"),
    s("CompanyCode", 4),
    s("BusinessArea", 4),
    s("CostCtrResponsiblePersonName", 20, upper=False),
    s("CostCtrResponsibleUser", 12),
    Prop("CostCenterCurrency", "Edm.String", 5, sap={"semantics": "currency-code"}),
    s("ProfitCenter", 10),
    s("Department", 12, upper=False),
    s("CostingSheet", 6),
    s("FunctionalArea", 16),
    s("Country", 3),
    s("Region", 3),
    s("CityName", 35, upper=False),
    s("CostCenterStandardHierArea", 12),
    s("CostCenterCategory", 1),
    s("IsBlkdForPrimaryCostsPosting", 1),
    s("IsBlkdForSecondaryCostsPosting", 1),
    s("IsBlockedForRevenuePosting", 1),
    s("IsBlockedForCommitmentPosting", 1),
    s("IsBlockedForPlanPrimaryCosts", 1),
    s("IsBlockedForPlanSecondaryCosts", 1),
    s("IsBlockedForPlanRevenues", 1),
    s("ConsumptionQtyIsRecorded", 1),
    Prop("Language", "Edm.String", 2),
    s("CostCenterCreatedByUser", 12),
    d("CostCenterCreationDate"),
)
COST_CENTER = EntitySet(
    "A_CostCenter",
    ("ControllingArea", "CostCenter", "ValidityEndDate"),
    _COST_CENTER_PROPS,
    (Nav("to_Text", "A_CostCenterText", ("ControllingArea", "CostCenter", "ValidityEndDate")),),
    label="Cost Center",
)
COST_CENTER_TEXT = EntitySet(
    "A_CostCenterText",
    ("CostCenter", "ControllingArea", "Language", "ValidityEndDate"),
    (
        s("CostCenter", 10, key=True),
        s("ControllingArea", 4, key=True),
        Prop("Language", "Edm.String", 2, nullable=False),
        d("ValidityEndDate", key=True),
        d("ValidityStartDate"),
        s("CostCenterName", 20, upper=False),
        s("CostCenterDescription", 40, upper=False),
    ),
    (Nav("to_CostCenter", "A_CostCenter", ("ControllingArea", "CostCenter", "ValidityEndDate"), many=False),),
    label="Cost Center Text",
)
COST_CENTER_SERVICE = Service("API_COSTCENTER_SRV", (COST_CENTER, COST_CENTER_TEXT))

JOURNAL_ENTRY_ITEM = EntitySet(
    "A_JournalEntryItemBasic",
    ("ID",),
    (
        Prop("ID", "Edm.String", nullable=False, sap={"sortable": "false", "filterable": "false"}),
        dim("Ledger", 2),
        dim("SourceLedger", 2),
        dim("LedgerFiscalYear", 4),
        dim("ControllingArea", 4),
        dim("CompanyCode", 4),
        dim("CompanyCodeName", 25, upper=False),
        dim("GLAccount", 10),
        dim("GLAccountName", 30, upper=False),
        dim("CostCenter", 10),
        dim("CostCenterName", 20, upper=False),
        dim("ProfitCenter", 10),
        dim("FunctionalArea", 16),
        dim("BusinessArea", 4),
        dim("Segment", 10),
        Prop(
            "TransactionCurrency", "Edm.String", 5, sap={"aggregation-role": "dimension", "semantics": "currency-code"}
        ),
        measure("AmountInTransactionCurrency", "TransactionCurrency"),
        Prop(
            "CompanyCodeCurrency", "Edm.String", 5, sap={"aggregation-role": "dimension", "semantics": "currency-code"}
        ),
        measure("AmountInCompanyCodeCurrency", "CompanyCodeCurrency"),
        Prop("GlobalCurrency", "Edm.String", 5, sap={"aggregation-role": "dimension", "semantics": "currency-code"}),
        measure("AmountInGlobalCurrency", "GlobalCurrency"),
        dim("FiscalPeriod", 3),
        dim("FiscalYearVariant", 2),
        dim("FiscalYearPeriod", 8),
        dim("ChartOfAccounts", 4),
        dim("ControllingDebitCreditCode", 1),
        dim("Project", 24),
        dim("WBSElement", 24),
        # [I] document-level properties of newer releases
        dim("AccountingDocument", 10),
        dim("AccountingDocumentItem", 6),
        dim("AccountingDocumentType", 2),
        dim("DocumentReferenceID", 16, upper=False),
        dim("AccountingDocumentHeaderText", 25, upper=False),
        d("PostingDate", **{"aggregation-role": "dimension"}),
        d("DocumentDate", **{"aggregation-role": "dimension"}),
        dim("DebitCreditCode", 1),
        dim("DocumentItemText", 50, upper=False),
    ),
    label="Journal Entry Item Basic Data",
    aggregate=True,
)
COMPANY_CODE = EntitySet(
    "A_CompanyCode",
    ("CompanyCode",),
    (
        s("CompanyCode", 4, key=True),
        s("CompanyCodeName", 25, upper=False),
        s("CityName", 25, upper=False),
        s("Country", 3),
        Prop("Currency", "Edm.String", 5, sap={"semantics": "currency-code"}),
        Prop("Language", "Edm.String", 2),
        s("ChartOfAccounts", 4),
        s("FiscalYearVariant", 2),
        s("ControllingArea", 4),
    ),
    label="Company Code Data",
)
JOURNAL_SERVICE = Service("API_JOURNALENTRYITEMBASIC_SRV", (JOURNAL_ENTRY_ITEM, COMPANY_CODE))

ENTERPRISE_PROJECT = EntitySet(
    "A_EnterpriseProject",
    ("ProjectUUID",),
    (
        Prop("ProjectUUID", "Edm.Guid", nullable=False),
        s("ProjectInternalID", 24),
        s("Project", 24),
        s("ProjectDescription", 60, upper=False),
        s("EnterpriseProjectType", 2),
        s("PriorityCode", 3),
        d("ProjectStartDate"),
        d("ProjectEndDate"),
        s("ProcessingStatus", 2),
        s("ResponsibleCostCenter", 10),
        s("ProfitCenter", 10),
        s("ProjectProfileCode", 7),
        s("FunctionalArea", 16),
        s("CompanyCode", 4),
        s("ControllingArea", 4),
        s("Plant", 4),
        s("Location", 10),
        s("ProjectCurrency", 5),
        s("LastChangedByUser", 12),
        ts("LastChangeDateTime"),
    ),
    label="Enterprise Project",
)
PROJECT_SERVICE = Service("API_ENTERPRISE_PROJECT_SRV", (ENTERPRISE_PROJECT,), path="API_ENTERPRISE_PROJECT_SRV;v=0002")

SERVICES = {svc.path: svc for svc in (GL_SERVICE, COST_CENTER_SERVICE, JOURNAL_SERVICE, PROJECT_SERVICE, PLAN_SERVICE)}
