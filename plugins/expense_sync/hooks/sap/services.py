"""The OData services and entity sets the hook reads besides the chart entities' own (those are
configurable: ``entities.py``; see ``docs/vendors/sap.md``)."""

from __future__ import annotations

GL_TEXTS = "A_GLAccountText"  # in the G/L account entity's service: renames stamp only the text
JOURNAL_SERVICE = "API_JOURNALENTRYITEMBASIC_SRV"
JOURNAL_ITEMS = "A_JournalEntryItemBasic"
