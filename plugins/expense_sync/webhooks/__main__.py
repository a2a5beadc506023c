"""``python -m expense_sync.webhooks``: see :mod:`expense_sync.webhooks.standalone`."""

from expense_sync.webhooks.standalone import main

main()
