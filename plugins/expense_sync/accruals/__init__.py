"""Travel bookings accrued (预提): a confirmed booking becomes an ERP accrual voucher exactly once and
is reversed when its trip's claim is posted (issue 13)."""
