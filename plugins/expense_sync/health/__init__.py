"""The sync-health page: per DAG and over time, what the syncs did (rows, vendor calls, vouchers,
open conflicts, data health checks, run durations against the deadlines), as charts with their
numbers, inside the Airflow UI.

:mod:`.queries` reads the numbers (SQL in ``include/sql/health/``), :mod:`.charts` draws them with
Altair (Vega-Lite, rendered to SVG by vl-convert on the server: the page needs no script and no CDN),
:mod:`.page` lays them out, and :mod:`.app` serves ``/`` (the page) and ``/numbers`` (the same numbers
as JSON) behind Airflow's login. The plugin (``plugins/expense_sync_plugin.py``) mounts it at
``/expense-sync-health`` and adds it to the UI's Browse menu.
"""
