"""Month end: the rollup of a period's claims to the ERP ledger, its reconciliation, the auditors' pack."""
