"""Small helpers shared by every stage: safe file writes and safe names."""

#: migrator's version (pyproject.toml's), here so that every stage can name it (SARIF's tool
#: version) without importing the ``migrator`` facade above them
__version__ = "0.1.0"
