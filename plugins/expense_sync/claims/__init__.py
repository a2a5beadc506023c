"""Claims (合思 报销单) into ERP vouchers, exactly once, and the voucher number back onto the claim.

* :mod:`.parse`: a 合思 flow as the claim it stands for (Decimal money, the content hash);
* :mod:`.intake`: the webhook inbox and a polling catch-up into ``fin.claim``;
* :mod:`.validate`: the checks a claim must pass before it may become a voucher (exception queue);
* :mod:`.post`: the voucher, exactly once (outbound ledger first, look-up before any resend);
* :mod:`.status`: the ERP's voucher state and number, the write-back to 合思, the claim's close;
"""
