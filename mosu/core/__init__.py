"""Shared concerns every domain uses: errors, database, clock, money, files, pagination, settings."""
