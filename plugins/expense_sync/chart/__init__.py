"""The weekly chart sync: ERP → middle platform → 合思 (the ERP is master of the chart).

``extract`` lands the ERP's chart, ``merge`` makes it canonical, ``expense_side`` reads 合思's fee
types and dimension items, ``categories`` maps expense categories onto fee types, ``push`` writes
cost centers and projects to 合思 as dimension items, and ``decisions`` asks people about what
cannot be decided automatically and applies their answers. ``state`` holds what both sides share.
"""

from expense_sync.store.answers import DEFER

# The options of every conflict question (see ``decisions``); an unanswered question becomes DEFER.
TAKE_ERP, KEEP_EXPENSE = "Take ERP value", "Keep expense value"
OPTIONS = [TAKE_ERP, KEEP_EXPENSE, DEFER]
