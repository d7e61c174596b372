"""Settings for the whole test session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from skipcheck import pytest_configure  # noqa: F401 - the skip check (see there)

# A run from the command line leaves a resident parser process behind for the next run
# (migrator.analysis.resident). Forked from a test, it would keep a copy of the test process
# alive for minutes, and one test's resident would serve another test's runs: tests run
# without one, except tests/analysis/test_resident.py, which starts and stops its own.
os.environ["MIGRATOR_RESIDENT_PARSER"] = "0"

# The analysis cache lives in the user's cache directory by default (migrator.analysis.cache):
# tests get one of their own, so that they neither read nor fill the developer's.
_CACHE_HOME = tempfile.mkdtemp(prefix="migrator-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, True)
