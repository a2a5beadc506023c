"""Claims' invoices (发票): the invoice-type dictionary, the tax rules, reading 合思's invoices and
the deductible input VAT (进项税额) of each."""
