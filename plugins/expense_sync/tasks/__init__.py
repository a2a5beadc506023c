"""TaskFlow tasks the DAG files wire together. Each is a thin wrapper around the library code."""
