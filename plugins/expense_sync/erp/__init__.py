"""The ERP side, vendor-neutral: the canonical chart and voucher model, and the ERP hook contract."""
