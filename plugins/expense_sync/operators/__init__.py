"""Custom operators shared by the DAGs."""
