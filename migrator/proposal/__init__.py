"""Stage 2: propose services (a plan) from a dependency graph, measure and compare decompositions.

``propose(graph, **options) -> Plan`` lives in ``engine``; metrics (shared with reporting) in
``metrics``; MoJoFM/ARI in ``compare``; per-node explanations in ``explain``.
"""

from __future__ import annotations

from typing import Any

from migrator.graph import DependencyGraph
from migrator.plan import Plan

__all__ = ["propose"]


def propose(graph: DependencyGraph, **options: Any) -> Plan:
    """Partition ``graph`` into services, a shared kernel and table owners (see engine.propose)."""
    from migrator.proposal.engine import propose as _propose

    return _propose(graph, **options)
