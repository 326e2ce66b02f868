"""Shared concerns every domain uses: errors, database, clock, money, files, credentials, pagination, settings."""
