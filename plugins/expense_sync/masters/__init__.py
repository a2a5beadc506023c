"""The ERP's supplier and tax-code masters in the middle platform: :mod:`.land` reads them through
the configured ERP hook into staging, :mod:`.merge` merges them set-based into ``mdm.supplier`` and
``mdm.tax_code`` (V0401), in ``expense_category_sync_weekly``."""

ENTITIES = ("supplier", "tax_code")
