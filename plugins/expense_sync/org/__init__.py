"""The daily org sync: OA → middle platform → expense system (OA is master)."""

# The options of the mass-deactivation question (see ``guard``); an unanswered question becomes DEFER.
APPROVE, KEEP, DEFER = "Deactivate them", "Keep them active", "Defer"
OPTIONS = [APPROVE, KEEP, DEFER]
