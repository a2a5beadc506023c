"""The daily org sync: OA → middle platform → expense system (OA is master)."""

from expense_sync.store.answers import DEFER

# The options of the mass-deactivation question (see ``guard``); an unanswered question becomes DEFER.
APPROVE, KEEP = "Deactivate them", "Keep them active"
OPTIONS = [APPROVE, KEEP, DEFER]
