"""The middle platform in PostgreSQL: connections, migrations, loads, ledgers and the exception queue."""
