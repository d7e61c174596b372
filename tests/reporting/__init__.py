"""Tests of migrator.reporting (issue 6)."""
