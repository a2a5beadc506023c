"""Data health checks (数据体检): Great Expectations checkpoints run from Airflow tasks."""
