"""Options and constraints of ``propose``: defaults, then the project's config, then the CLI.

Constraints come from ``[tool.migrator.propose]`` in the analysed project's pyproject.toml, or
the ``propose:`` mapping of its ``migrator.yaml`` (or a file given with ``--config``), so that a
team's decisions (pin these modules to that service, keep those apart) live with their code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from migrator.plan import PlanError, read_document
from migrator.util.fs import FileError, read_text

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None  # type: ignore[assignment]

ALGORITHMS = ("louvain", "greedy", "label-propagation")

#: clustering weights per edge kind (multipliers of counts), plus the priors migrator adds:
#: ``package`` ties a module to its domain package (and a carved-out symbol to the domain it
#: uses most), ``sibling`` multiplies edges between symbols carved out of one module, ``table_write`` / ``table_read`` tie code to the tables it writes / reads (data gravity),
#: ``cochange`` / ``authors`` (with ``--history``) tie modules changed in the same commits /
#: by the same people; ``vocabulary`` weighs what the code is about (its words, concerns.py)
#: against its dependencies when the service count makes capabilities merge (0: not at all).
DEFAULT_WEIGHTS: dict[str, float] = {
    "import": 1.0,
    "reference": 1.0,
    "inherit": 2.0,
    "orm": 2.0,
    "table": 1.0,
    "route": 1.0,
    "dynamic": 0.5,
    "async": 0.5,  # a queued task or background job: the caller does not wait for it
    "signal": 0.5,  # a signal handler: runs on the sender's event, found by name like ``dynamic``
    "package": 2.0,
    "sibling": 0.25,
    "table_write": 3.0,
    "table_read": 1.0,
    "cochange": 1.0,
    "authors": 1.0,
    "vocabulary": 0.3,
}

_KEYS = {
    "algorithm",
    "services",
    "seed",
    "weights",
    "pin",
    "together",
    "apart",
    "kernel",
    "resolution",
    "min_service_size",
    "kernel_max_share",
    "split",
    "keep_whole",
    "respect_packages",
}


@dataclass
class ProposalOptions:
    algorithm: str = "louvain"
    services: tuple[int, int] | None = None  # inclusive range; None: chosen by metrics
    seed: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    pin: dict[str, str] = field(default_factory=dict)  # glob -> service name
    together: list[list[str]] = field(default_factory=list)
    apart: list[list[str]] = field(default_factory=list)
    kernel: list[str] = field(default_factory=list)  # globs forced into the shared kernel
    resolution: float | None = None  # fixed Louvain/greedy resolution instead of a sweep
    min_service_size: int = 2
    kernel_max_share: float = 0.2
    split: list[str] = field(default_factory=list)  # globs of modules always split into symbols
    keep_whole: list[str] = field(default_factory=list)  # globs of modules never split
    #: keep each domain package's modules together (merged only when the code says so)
    respect_packages: bool = True


def parse_services(value: Any, source: str = "--services") -> tuple[int, int] | None:
    """``N`` or ``A-B`` -> (low, high)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(value))
        if not m:
            raise PlanError(source, [f"services: expected N or A-B, got {value!r}"])
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) else low
    if low < 1 or high < low:
        raise PlanError(source, [f"services: expected 1 <= A <= B, got {value!r}"])
    return (low, high)


def find_config(root: str | Path) -> tuple[dict[str, Any], str] | None:
    """The ``propose`` settings of the project at ``root`` and the file they came from."""
    root = Path(root)
    if root.is_file():
        root = root.parent
    yaml_file = root / "migrator.yaml"
    if os.path.lexists(yaml_file):  # a FIFO, device or link out is an error, not skipped
        data = read_document(yaml_file, root=root)
        section = data.get("propose", {}) if isinstance(data, dict) else None
        if section is not None:
            return _section(section, str(yaml_file)), str(yaml_file)
    pyproject = root / "pyproject.toml"
    if os.path.lexists(pyproject) and tomllib is not None:
        try:
            data = tomllib.loads(read_text(pyproject, root=root))
        except FileError as exc:
            raise PlanError(str(pyproject), [exc.why]) from None
        except tomllib.TOMLDecodeError as exc:
            raise PlanError(str(pyproject), [f"cannot read: {exc}"]) from None
        section = data.get("tool", {}).get("migrator", {}).get("propose")
        if section is not None:
            return _section(section, str(pyproject)), str(pyproject)
    return None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """``--config FILE``: a migrator.yaml (``propose:`` key, or the settings at top level) or a
    pyproject.toml with ``[tool.migrator.propose]``."""
    path = Path(path)
    if path.suffix == ".toml":
        if tomllib is None:  # pragma: no cover
            raise PlanError(str(path), ["reading TOML needs Python 3.11+"])
        try:
            data = tomllib.loads(read_text(path))
        except FileError as exc:
            raise PlanError(str(path), [exc.why]) from None
        except tomllib.TOMLDecodeError as exc:
            raise PlanError(str(path), [f"cannot read: {exc}"]) from None
        return _section(data.get("tool", {}).get("migrator", {}).get("propose", {}), str(path))
    data = read_document(path)
    if isinstance(data, dict) and "propose" in data:
        data = data["propose"]
    return _section(data or {}, str(path))


def _section(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PlanError(source, ["propose: must be a mapping"])
    problems = [f"propose.{k}: unknown key" for k in sorted(set(data) - _KEYS)]
    if problems:
        raise PlanError(source, problems)
    return dict(data)


def build_options(
    settings: dict[str, Any] | None = None, source: str = "<options>", **overrides: Any
) -> ProposalOptions:
    """Defaults < ``settings`` (config file) < ``overrides`` (CLI/API; None means unset)."""
    merged: dict[str, Any] = dict(settings or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    problems: list[str] = []
    opts = ProposalOptions()
    unknown = set(merged) - _KEYS
    problems += [f"{k}: unknown option" for k in sorted(unknown)]
    if "algorithm" in merged:
        if merged["algorithm"] not in ALGORITHMS:
            problems.append(
                f"algorithm: expected one of {', '.join(ALGORITHMS)}, got {merged['algorithm']!r}"
            )
        else:
            opts.algorithm = merged["algorithm"]
    if "services" in merged:
        opts.services = (
            merged["services"]
            if isinstance(merged["services"], tuple)
            else parse_services(merged["services"], source)
        )
    for key in ("seed", "min_service_size"):
        if key in merged:
            if not isinstance(merged[key], int) or isinstance(merged[key], bool):
                problems.append(f"{key}: must be an integer")
            else:
                setattr(opts, key, merged[key])
    for key in ("resolution", "kernel_max_share"):
        if key in merged:
            if not isinstance(merged[key], (int, float)) or isinstance(merged[key], bool):
                problems.append(f"{key}: must be a number")
            else:
                setattr(opts, key, float(merged[key]))
    if "weights" in merged:
        w = merged["weights"]
        if not isinstance(w, dict) or not all(
            isinstance(k, str)
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and v >= 0
            for k, v in w.items()
        ):
            problems.append("weights: must map edge kinds to numbers >= 0")
        else:
            for k in sorted(set(w) - set(DEFAULT_WEIGHTS)):
                problems.append(f"weights.{k}: unknown kind (known: {', '.join(DEFAULT_WEIGHTS)})")
            opts.weights.update({k: float(v) for k, v in w.items()})
    if "respect_packages" in merged:
        if not isinstance(merged["respect_packages"], bool):
            problems.append("respect_packages: must be true or false")
        else:
            opts.respect_packages = merged["respect_packages"]
    if "pin" in merged:
        pin = merged["pin"]
        if not isinstance(pin, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in pin.items()
        ):
            problems.append("pin: must map module globs to service names")
        else:
            opts.pin = dict(pin)
    for key in ("together", "apart"):
        if key in merged:
            groups = merged[key]
            if not isinstance(groups, list) or not all(
                isinstance(g, list) and len(g) >= 2 and all(isinstance(x, str) for x in g)
                for g in groups
            ):
                problems.append(f"{key}: must be a list of lists of two or more module globs")
            else:
                setattr(opts, key, [list(g) for g in groups])
    for key in ("kernel", "split", "keep_whole"):
        if key in merged:
            globs = merged[key]
            if not isinstance(globs, list) or not all(isinstance(x, str) for x in globs):
                problems.append(f"{key}: must be a list of module globs")
            else:
                setattr(opts, key, list(globs))
    if problems:
        raise PlanError(source, problems)
    return opts


def glob_match(pattern: str, node: str) -> bool:
    """A glob matches a node id, or (without wildcards) the node, its symbols and submodules."""
    if any(c in pattern for c in "*?["):
        return fnmatchcase(node, pattern) or fnmatchcase(node.split(":", 1)[0], pattern)
    return node == pattern or node.startswith(pattern + ":") or node.startswith(pattern + ".")
