"""Search: one live BM25 index per kind of record, rebuilt from the database as it changes."""
