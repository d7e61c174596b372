"""The plan: which code goes into which service. Written by `propose`, edited by people,
read by `scaffold`, `report`, `check` and `explain`.

The plan is plain data (dataclasses) with a versioned YAML/JSON form. ``load_plan`` checks
every key and value and raises ``PlanError`` with all problems at once, each naming the file
and the key, so that a hand-edited plan fails early and clearly instead of deep in a later stage.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import yaml

from migrator.util.fs import FileError, read_text

PLAN_VERSION = 1
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")  # \Z: "$" allows "x\n"
# Python identifiers may be non-ASCII (PEP 3131): ``[^\W\d]\w*`` is "a letter or _, then word chars"
_MODULE = re.compile(r"^[^\W\d]\w*(\.[^\W\d]\w*)*\Z")
_SYMBOL = re.compile(r"^[^\W\d]\w*(\.[^\W\d]\w*)*:[^\W\d]\w*\Z")


class PlanError(ValueError):
    """A plan file that cannot be used; ``problems`` lists every one found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


@dataclass
class Service:
    name: str
    modules: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)  # "METHOD /path"
    depends_on: list[str] = field(default_factory=list)
    interface: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    #: where its traffic goes: ``off`` (the monolith), ``shadow``, ``canary`` or ``live``
    cutover: str = "off"
    #: share of its requests sent to it in ``canary`` (1..99), else 0
    cutover_percent: int = 0


#: names compose and the gateway give their own containers beside the services (the monolith's
#: own container is named by ``meta.monolith_service``, ``monolith`` by default)
RESERVED_SERVICE_NAMES = ("postgres", "gateway")


def reserved_names(meta: Mapping[str, Any] | None) -> set[str]:
    """Service names a plan may not use: the containers that run beside its services."""
    return {*RESERVED_SERVICE_NAMES, str((meta or {}).get("monolith_service") or "monolith")}


#: cutover states, in the order a service goes through them (``off`` again = rollback)
CUTOVER_STATES = ("off", "shadow", "canary", "live")


@dataclass
class SharedKernel:
    modules: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)


#: version of the ``meta`` block; a plan whose meta has no ``version`` is read as this one
META_VERSION = 1


class PlanMeta(TypedDict, total=False):
    """``Plan.meta``: what ``propose`` records and later stages read (docs/plan.md). Every key
    is optional; ``load_plan`` checks each one's type and rejects unknown keys, so a typo in a
    hand-edited plan fails on load instead of being ignored by ``scaffold``."""

    version: int
    generator: str
    source: str  # the analysed code, relative to the plan file (explain, cutover)
    framework: str  # flask | fastapi | django; scaffold detects it when missing
    project: str  # namespace and image prefix
    monolith_service: str
    monolith_wsgi: str  # "pkg.module:app"
    static_path: str
    host: str
    algorithm: str
    seed: int
    resolution: float
    services_range: list[int]
    weights: dict[str, float]
    split_modules: list[str]
    service_count: str
    table_owner_rule: str
    data_coupling: dict[str, Any]
    placements: dict[str, dict[str, Any]]
    new_nodes: list[str]
    removed_nodes: list[str]


def _fits(value: Any, hint: Any) -> bool:
    """``value`` (read from YAML/JSON) has the type ``hint`` of a PlanMeta key."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items()
        )
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint) and not (hint is int and isinstance(value, bool))


_NAMES = {
    str: ("a string", "strings"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
}


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return f"a list of {_NAMES[args[0]][1]}"
    if origin is dict:
        return "a mapping"
    return _NAMES[hint][0]


def meta_problems(meta: Any) -> list[str]:
    """What is wrong with a plan's ``meta`` block (empty when it is a usable ``PlanMeta``)."""
    if not isinstance(meta, dict):
        return ["meta: must be a mapping"]
    hints = typing.get_type_hints(PlanMeta)
    problems = [f"meta.{key}: unknown key" for key in sorted(set(meta) - set(hints), key=str)]
    for key, hint in hints.items():
        if key in meta and not _fits(meta[key], hint):
            problems.append(f"meta.{key}: must be {_type_name(hint)}, got {meta[key]!r}"[:200])
    if not problems and meta.get("version", META_VERSION) != META_VERSION:
        problems.append(
            f"meta.version: expected {META_VERSION}, got {meta['version']!r} "
            "(a plan from another migrator version)"
        )
    return problems


@dataclass
class Plan:
    services: dict[str, Service] = field(default_factory=dict)
    shared_kernel: SharedKernel = field(default_factory=SharedKernel)
    metrics: dict[str, Any] = field(default_factory=dict)
    #: facts for later stages (framework, source root, data coupling, explanations)
    meta: PlanMeta = field(default_factory=lambda: PlanMeta())
    version: int = PLAN_VERSION

    def assignment(self) -> dict[str, str]:
        """Node id -> service name, with the kernel as ``"shared_kernel"``."""
        out: dict[str, str] = {}
        for name, svc in self.services.items():
            for node in [*svc.modules, *svc.symbols]:
                out[node] = name
        for node in [*self.shared_kernel.modules, *self.shared_kernel.symbols]:
            out[node] = SHARED
        return out

    def service_of(self, node: str) -> str | None:
        """The service (or ``"shared_kernel"``) that owns a node, looking at its module too."""
        assignment = self.assignment()
        if node in assignment:
            return assignment[node]
        return assignment.get(node.split(":", 1)[0])

    def to_dict(self) -> dict[str, Any]:
        services: dict[str, dict[str, Any]] = {}
        for name in sorted(self.services):
            s = self.services[name]
            services[name] = {
                "modules": sorted(s.modules),
                "symbols": sorted(s.symbols),
                "tables": sorted(s.tables),
                "routes": sorted(s.routes),
                "depends_on": sorted(s.depends_on),
                "interface": sorted(s.interface),
                "why": list(s.why),
            }
            if s.cutover != "off":  # plans without cutover read and write as before
                services[name]["cutover"] = cutover_dict(s)
        out: dict[str, Any] = {
            "version": self.version,
            "services": services,
            "shared_kernel": {
                "modules": sorted(self.shared_kernel.modules),
                "symbols": sorted(self.shared_kernel.symbols),
            },
            "metrics": self.metrics,
        }
        if self.meta:
            out["meta"] = self.meta
        return out


SHARED = "shared_kernel"


def cutover_dict(svc: Service) -> dict[str, Any]:
    """The plan's form of a service's cutover state (``percent`` only for a canary)."""
    out: dict[str, Any] = {"state": svc.cutover}
    if svc.cutover == "canary":
        out["percent"] = svc.cutover_percent
    return out


def cutover_problems(state: Any, percent: Any) -> list[str]:
    """What is wrong with a cutover state and percentage (empty when they are usable)."""
    if state not in CUTOVER_STATES:
        return [f"state must be one of {', '.join(CUTOVER_STATES)}, got {state!r}"]
    if state == "canary":
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
            return [f"canary needs a whole percent from 1 to 99, got {percent!r}"]
    elif percent not in (None, 0):
        return [f"percent applies to canary only, not {state!r}"]
    return []


def _cutover(value: Any, where: str, problems: list[str]) -> tuple[str, int]:
    """``cutover: live`` or ``cutover: {state: canary, percent: 10}``; missing means off."""
    if value is None:
        return "off", 0
    if isinstance(value, str):
        value = {"state": value}
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a state or a mapping with 'state' and 'percent'")
        return "off", 0
    for key in sorted(set(value) - {"state", "percent"}, key=str):
        problems.append(f"{where}.{key}: unknown key")
    state, percent = value.get("state", "off"), value.get("percent")
    found = cutover_problems(state, percent)
    problems.extend(f"{where}: {p}" for p in found)
    if found:
        return "off", 0
    return str(state), (percent if state == "canary" and isinstance(percent, int) else 0)


def dump_plan(plan: Plan, fmt: str = "yaml") -> str:
    """Serialise deterministically (sorted lists, fixed key order)."""
    data = plan.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    return yaml.dump(data, Dumper=PlanDumper, sort_keys=False, allow_unicode=True, width=100)


class PlanDumper(yaml.SafeDumper):
    """Safe dumper that never writes anchors/aliases (``&id001``): people edit plans by hand."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def load_plan(path: str | Path, *, root: str | Path | None = None) -> Plan:
    """Read and validate a plan file (YAML or JSON); ``root`` as for ``read_document``.
    A problem with one service names the line where that service starts."""
    data = read_document(path, root=root)
    try:
        return plan_from_dict(data, source=str(path))
    except PlanError as exc:
        lines = _service_lines(read_text(Path(path), root=root))
        raise PlanError(exc.source, [_with_line(p, lines) for p in exc.problems]) from None


def _service_lines(text: str) -> dict[str, int]:
    """Service name -> line (1-based) of its key under ``services:`` (empty if none)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    for key, value in node.value:
        if key.value == "services" and isinstance(value, yaml.MappingNode):
            return {str(k.value): k.start_mark.line + 1 for k, _ in value.value}
    return {}


def _with_line(problem: str, lines: dict[str, int]) -> str:
    found = re.match(r"services\.([^.:]+)[.:]", problem)
    if found and found.group(1) in lines and not problem.startswith("line "):
        return f"line {lines[found.group(1)]}: {problem}"
    return problem


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping: plain YAML keeps the
    last one, so a second ``cart:`` would silently drop the first service."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader's own error says so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def read_document(path: str | Path, *, root: str | Path | None = None) -> Any:
    """The data of a YAML or JSON file; a ``PlanError`` naming the file (and line) otherwise.

    The file must be a regular file (``read_regular``: no FIFO, device or link out of ``root``)
    and no mapping in it may give a key twice."""
    path = Path(path)
    try:
        text = read_text(path, root=root)
    except FileError as exc:
        raise PlanError(str(path), [exc.why]) from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # JSON is YAML
    except RecursionError:
        raise PlanError(str(path), ["nested too deeply"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise PlanError(
            str(path),
            [f"{where}not valid YAML/JSON: {str(getattr(exc, 'problem', exc)).splitlines()[0]}"],
        ) from None


_SERVICE_KEYS = {
    "modules",
    "symbols",
    "tables",
    "routes",
    "depends_on",
    "interface",
    "why",
    "cutover",
}


def plan_from_dict(data: Any, source: str = "<plan>") -> Plan:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise PlanError(source, ["top level must be a mapping with 'version' and 'services'"])
    if data.get("version") != PLAN_VERSION:
        problems.append(f"version: expected {PLAN_VERSION}, got {data.get('version')!r}")
    unknown = set(data) - {"version", "services", "shared_kernel", "metrics", "meta"}
    for key in sorted(unknown):
        problems.append(f"{key}: unknown top-level key")
    services_raw = data.get("services")
    if not isinstance(services_raw, dict) or not services_raw:
        problems.append("services: must be a non-empty mapping of service name to service")
        services_raw = {}

    def str_list(value: Any, where: str, pattern: re.Pattern[str] | None = None) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: must be a list of strings")
            return []
        if pattern is not None:
            for v in value:
                if not pattern.match(v):
                    problems.append(f"{where}: {v!r} is not a valid name")
        return list(value)

    services: dict[str, Service] = {}
    meta_raw = data.get("meta")
    reserved = reserved_names(meta_raw if isinstance(meta_raw, dict) else None)
    for name, body in services_raw.items():
        where = f"services.{name}"
        if not isinstance(name, str) or not DNS1123_LABEL.match(name):
            problems.append(
                f"{where}: service name must be a DNS-1123 label "
                "(lowercase letters, digits and '-', at most 63 characters)"
            )
            continue
        if name in reserved:
            problems.append(
                f"{where}: the name {name!r} is reserved for a container that "
                "compose and the gateway run beside the services; rename it"
            )
        if body is None:
            body = {}
        if not isinstance(body, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        for key in sorted(set(body) - _SERVICE_KEYS):
            problems.append(f"{where}.{key}: unknown key")
        services[name] = Service(
            name=name,
            modules=str_list(body.get("modules"), f"{where}.modules", _MODULE),
            symbols=str_list(body.get("symbols"), f"{where}.symbols", _SYMBOL),
            tables=str_list(body.get("tables"), f"{where}.tables"),
            routes=str_list(body.get("routes"), f"{where}.routes"),
            depends_on=str_list(body.get("depends_on"), f"{where}.depends_on"),
            interface=str_list(body.get("interface"), f"{where}.interface"),
            why=str_list(body.get("why"), f"{where}.why"),
        )
        services[name].cutover, services[name].cutover_percent = _cutover(
            body.get("cutover"), f"{where}.cutover", problems
        )
    kernel_raw = data.get("shared_kernel") or {}
    if not isinstance(kernel_raw, dict):
        problems.append("shared_kernel: must be a mapping with 'modules' and 'symbols'")
        kernel_raw = {}
    kernel = SharedKernel(
        modules=str_list(kernel_raw.get("modules"), "shared_kernel.modules", _MODULE),
        symbols=str_list(kernel_raw.get("symbols"), "shared_kernel.symbols", _SYMBOL),
    )
    for name, svc in services.items():
        for dep in svc.depends_on:
            if dep not in services:
                problems.append(f"services.{name}.depends_on: unknown service {dep!r}")
    seen: dict[str, str] = {}
    owners = [(n, s.modules + s.symbols) for n, s in services.items()]
    owners.append((SHARED, kernel.modules + kernel.symbols))
    for owner, nodes in owners:
        for node in nodes:
            if node in seen and seen[node] != owner:
                problems.append(f"{node}: assigned to both {seen[node]!r} and {owner!r}")
            seen[node] = owner
    table_owner: dict[str, str] = {}
    for name, svc in services.items():
        for t in svc.tables:
            if t in table_owner:
                problems.append(f"table {t!r}: owned by both {table_owner[t]!r} and {name!r}")
            table_owner[t] = name
    metrics = data.get("metrics") or {}
    meta = data.get("meta") or {}
    if not isinstance(metrics, dict):
        problems.append("metrics: must be a mapping")
        metrics = {}
    problems.extend(meta_problems(meta))
    if problems:
        raise PlanError(source, problems)
    return Plan(
        services=services, shared_kernel=kernel, metrics=metrics, meta=typing.cast(PlanMeta, meta)
    )  # checked by meta_problems
