"""The run store (one folder per run) and what is built from it: the report."""
