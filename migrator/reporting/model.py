"""The report as plain data: what `report` computes and every formatter renders.

Nothing here knows about output formats; ``Report.to_dict()`` is the documented JSON form
(schema ``migrator.report``, version ``REPORT_VERSION``, see docs/report.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

# the schema name, not a use of the ``migrator.report`` function
REPORT_SCHEMA = "migrator.report"  # migrator: ignore[interface-violation, undeclared-dependency]
REPORT_VERSION = 1

#: stated in --help and at the top of every report
DEFINITIONS = (
    "Metric definitions follow docs/metrics.md in the migrator repository (Q, ICP, SM, IFN, "
    "NED, BCP, data coupling; the shared kernel is left out). Ca = distinct units (modules, or "
    "symbols split from their module) outside a component with an edge into it, Ce = distinct "
    "units outside it that it has an edge to, I = Ce / (Ca + Ce) (0 when both are 0); per "
    "module the same with modules."
)


@dataclass(frozen=True, order=True)
class Location:
    """A place in the analysed code; ``file`` is relative (to the working directory when the
    file lies below it, else to the analysed root)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class ComponentStats:
    name: str
    kind: str  # "service" | "shared_kernel" | "package" | "unassigned"
    modules: int
    nodes: int
    ca: int
    ce: int
    instability: float
    edges_out: int  # references leaving the component (sum of edge counts)
    edges_in: int
    depends_on: list[str] = field(default_factory=list)  # components it has edges to
    tables: list[str] = field(default_factory=list)  # tables its code reads or writes


@dataclass
class ModuleStats:
    module: str
    component: str
    ca: int
    ce: int
    instability: float
    crossing_out: int  # references from this module into other components
    crossing_in: int


@dataclass
class CrossEdge:
    """A graph edge whose ends lie in different components."""

    source: str
    target: str
    kind: str
    count: int
    source_component: str
    target_component: str
    evidence: list[Location] = field(default_factory=list)
    allowed: bool = False  # into the shared kernel or through the target's declared interface


@dataclass
class Cycle:
    """A shortest import cycle, as a canonical rotation (smallest module first)."""

    modules: list[str]
    evidence: list[Location] = field(default_factory=list)  # one per edge, in cycle order

    @property
    def length(self) -> int:
        return len(self.modules)


@dataclass
class CycleBreaker:
    source: str
    target: str
    breaks: int  # how many of the counted cycles contain this edge
    location: Location | None = None


@dataclass
class SharedTable:
    name: str
    components: list[str]
    owner: str | None  # from the plan's ``tables``, if any
    readers: dict[str, list[str]] = field(default_factory=dict)  # component -> nodes
    writers: dict[str, list[str]] = field(default_factory=dict)
    location: Location | None = None


@dataclass(frozen=True, order=True)
class Rule:
    id: str
    level: str  # SARIF level: "error" | "warning" | "note"
    description: str


@dataclass(order=True)
class Violation:
    file: str
    line: int
    rule: str
    message: str
    level: str = "error"
    identity: str = ""  # line-independent identity (baseline key, SARIF fingerprint)
    ignored: bool = False  # silenced by an ignore comment naming the rule (docs/check.md)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message}"


@dataclass
class CycleStats:
    """How the cycle search went, so readers know what was exact and what was heuristic."""

    sccs: int = 0  # strongly connected components with more than one module
    modules_in_cycles: int = 0
    method: str = "exact"  # "exact" | "greedy-feedback-arc"
    counted_cycles: int = 0  # cycles the breaker ranking counted
    feedback_arc_set: int = 0  # edges whose removal leaves the import graph acyclic


@dataclass
class BaselineDiff:
    new_edges: list[list[str]] = field(default_factory=list)  # [source, target, kind]
    removed_edges: list[list[str]] = field(default_factory=list)
    new_cycles: list[list[str]] = field(default_factory=list)
    removed_cycles: list[list[str]] = field(default_factory=list)
    instability_increase: list[dict[str, Any]] = field(default_factory=list)
    instability_decrease: list[dict[str, Any]] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # --fail-on checks that failed

    @property
    def failed(self) -> bool:
        return bool(self.failing)


@dataclass
class Report:
    root: str
    level: str  # "service" or "package:N"
    metrics: dict[str, Any]
    components: list[ComponentStats]
    modules: list[ModuleStats]
    cross_edges: list[CrossEdge]
    component_edges: list[dict[str, Any]]  # {source, target, count, weight, allowed}
    module_edges: list[dict[str, Any]]  # {source, target, count, weight}
    module_component: dict[str, str]
    cycles: list[Cycle]
    cycle_breakers: list[CycleBreaker]
    cycle_stats: CycleStats
    cycle_groups: list[list[str]]  # modules of each strongly connected component (size > 1)
    shared_tables: list[SharedTable]
    rules: list[Rule]
    violations: list[Violation]
    unused_ignores: list[Location] = field(default_factory=list)
    baseline: BaselineDiff | None = None
    diagnostics: int = 0
    definitions: str = DEFINITIONS

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "error" and not v.ignored]

    def active(self) -> list[Violation]:
        """Violations not silenced by an ignore comment, worst first."""
        order = {"error": 0, "warning": 1, "note": 2}
        rank = {r.id: i for i, r in enumerate(self.rules)}
        return sorted(
            (v for v in self.violations if not v.ignored),
            key=lambda v: (
                order.get(v.level, 3),
                rank.get(v.rule, len(rank)),
                v.file,
                v.line,
                v.message,
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        data = plain(self)
        for cycle, raw in zip(self.cycles, data["cycles"], strict=True):
            raw["length"] = cycle.length
        return {"schema": REPORT_SCHEMA, "version": REPORT_VERSION, **data}


def plain(value: Any) -> Any:
    """Dataclasses, lists and dicts as JSON-ready data (``dataclasses.asdict`` without its
    deep copies, which cost seconds on a large report)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"cannot serialise {type(value).__name__}")
