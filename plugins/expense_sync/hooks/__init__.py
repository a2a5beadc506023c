"""Vendor API hooks: one per vendor, all on :class:`expense_sync.hooks.base.VendorHook`."""
