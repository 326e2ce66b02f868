"""Helpers shared by test files: import them from here, never from another test file."""
