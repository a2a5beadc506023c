"""expense-sync: keeps the expense system (合思/Ekuaibao), the ERP and the OA consistent.

The package lives under ``plugins/`` because Airflow puts that folder on ``sys.path`` in every
deployment (scheduler, workers, dag-processor and api-server alike).
"""
