"""Format rules shared by the merge (quarantine) and the Great Expectations suites.

One definition each: the merge SQL gets them as parameters, the suites are built from them.
"""

# An e-mail address: local part, @, a domain with a dot and a 2+ letter top-level domain.
EMAIL_RE = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"

# A mobile number: mainland (11 digits starting 1[3-9]), E.164 (+countrycode…), or 合思's "(区号)号码".
MOBILE_RE = r"^(1[3-9][0-9]{9}|\+[1-9][0-9]{6,14}|\([0-9]{1,4}\)[0-9]{5,15})$"

# The canonical classes of GL accounts: each ERP's account type maps onto one (include/mappings/<erp>/
# gl_account.yaml); a type no mapping names has no class, and the gl_accounts suite fails on it.
ACCOUNT_CLASSES = (
    "asset",
    "liability",
    "equity",
    "common",
    "cost",
    "profit_loss",
    "balance_sheet",
    "secondary_cost",
)
