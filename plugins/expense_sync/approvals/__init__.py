"""The travel scenario's front half: approval flows in the OA with nodes from the approval matrix,
the ERP budget check, approver changes, and the result applied back to 合思 (issue 13)."""
