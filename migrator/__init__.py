"""migrator: take a Python web monolith apart into microservices.

The Python API mirrors the command line, one function per stage, each in its own subpackage:

* ``analyze(path) -> DependencyGraph``         (migrator.analysis)
* ``propose(graph) -> Plan``                   (migrator.proposal)
* ``scaffold(plan, graph, out)``               (migrator.generation)
* ``report(graph, plan)``                      (migrator.reporting)

Stages are imported on first call so that importing ``migrator`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migrator.util import __version__ as __version__

if TYPE_CHECKING:
    from migrator.graph import DependencyGraph
    from migrator.plan import Plan

__all__ = ["DependencyGraph", "Plan", "analyze", "load_plan", "propose", "report", "scaffold"]


def __getattr__(name: str) -> Any:
    # The data classes load networkx and yaml: imported on first use so that every command,
    # ``migrator --help`` included, starts without paying for what it does not need.
    if name == "DependencyGraph":
        from migrator.graph import DependencyGraph

        return DependencyGraph
    if name in ("Plan", "load_plan"):
        import migrator.plan

        return getattr(migrator.plan, name)
    raise AttributeError(f"module 'migrator' has no attribute {name!r}")


def analyze(path: Any, **options: Any) -> DependencyGraph:
    """Parse the code under ``path`` (never importing it) into a dependency graph."""
    from migrator.analysis import analyze as _analyze

    return _analyze(path, **options)


def propose(graph: DependencyGraph, **options: Any) -> Plan:
    """Partition the graph into services, a shared kernel and table owners."""
    from migrator.proposal import propose as _propose

    return _propose(graph, **options)


def scaffold(
    plan: Plan,
    graph: DependencyGraph,
    out: Any,
    *,
    extract: bool = False,
    source_root: Any = None,
    **options: Any,
) -> Any:
    """Write service skeletons, Dockerfiles and Kubernetes manifests for a plan; ``extract``
    also moves each service's code in from ``source_root`` (default: the graph's root)."""
    if extract:
        from migrator.extraction.hook import scaffold as _extracting

        return _extracting(plan, graph, out, source_root=source_root, **options)
    from migrator.generation import scaffold as _scaffold

    return _scaffold(plan, graph, out, **options)


def report(graph: DependencyGraph, plan: Plan | None = None, **options: Any) -> Any:
    """Coupling metrics and violations between components (services or packages)."""
    from migrator.reporting import report as _report

    return _report(graph, plan, **options)
