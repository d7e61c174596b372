"""Extract: move each service's code into its skeleton and turn cross-service calls into HTTP.

``extract(plan, graph, source_root, out)`` writes ``OUT/services/<name>/src/`` (the service's
modules, split modules cut to its symbols, a pruned copy of the app factory and a generated
``interservice`` package with clients, internal endpoints and the WSGI entry point) and
``OUT/shared_kernel/`` (one installable library). ``build_extraction`` returns the same files in
memory for ``scaffold --extract``.
"""

from __future__ import annotations

from migrator.extraction.extract import (
    Extraction,
    ExtractionError,
    build_extraction,
    extract,
)

__all__ = ["Extraction", "ExtractionError", "build_extraction", "extract"]
