"""The OData services and entity sets the hook reads (see ``docs/vendors/sap.md``)."""

from __future__ import annotations

GL_SERVICE = "API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
GL_ACCOUNTS = "A_GLAccountInChartOfAccounts"
GL_TEXTS = "A_GLAccountText"
COST_CENTER_SERVICE = "API_COSTCENTER_SRV"
COST_CENTERS = "A_CostCenter"
PROJECTS = "A_EnterpriseProject"  # in the configured ``project_service``
JOURNAL_SERVICE = "API_JOURNALENTRYITEMBASIC_SRV"
JOURNAL_ITEMS = "A_JournalEntryItemBasic"
