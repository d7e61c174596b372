"""decomposition.yaml must account for every module of the shop, exactly once.

Read with ``ast`` and the file tree only; the shop's code is not imported here.
"""

from __future__ import annotations

import ast
import functools
from collections import Counter
from pathlib import Path

import pytest
import yaml

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGE = PACKAGE_DIR.name
EXPECTED_SERVICES = {"accounts", "backoffice", "cart", "catalog", "checkout", "inventory",
                     "notifications", "orders", "payments", "promotions", "shipping"}


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package except its tests."""
    result = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR)
        if rel.parts[0] == "tests" or "instance" in rel.parts:
            continue
        parts = [PACKAGE, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        result[".".join(parts)] = path
    return result


@functools.cache
def _top_level_symbols(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


@pytest.fixture(scope="module")
def decomposition() -> dict:
    return yaml.safe_load((PACKAGE_DIR / "decomposition.yaml").read_text(encoding="utf-8"))


def _entries(decomposition: dict) -> list[tuple[str, str]]:
    pairs = [(entry, service) for service, entries in decomposition["services"].items()
             for entry in entries]
    pairs += [(entry, "shared_kernel") for entry in decomposition["shared_kernel"]]
    return pairs


def test_format_and_services(decomposition):
    assert decomposition["version"] == 1
    assert decomposition["kind"] == "decomposition"
    assert set(decomposition) == {"version", "kind", "services", "shared_kernel"}
    assert set(decomposition["services"]) == EXPECTED_SERVICES
    for service, entries in decomposition["services"].items():
        assert entries, f"service {service} owns nothing"


def test_every_entry_names_a_real_module_or_symbol_once(decomposition):
    modules = _modules()
    counts = Counter(entry for entry, _service in _entries(decomposition))
    assert [e for e, n in counts.items() if n > 1] == []
    for entry, service in _entries(decomposition):
        module, _, symbol = entry.partition(":")
        assert module in modules, f"{entry} ({service}): no such module"
        if symbol:
            assert symbol in _top_level_symbols(modules[module]), \
                f"{entry} ({service}): no such top-level symbol"


def test_every_module_is_covered_whole_or_symbol_by_symbol(decomposition):
    modules = _modules()
    whole = {e for e, _s in _entries(decomposition) if ":" not in e}
    split: dict[str, set[str]] = {}
    for entry, _service in _entries(decomposition):
        if ":" in entry:
            module, symbol = entry.split(":", 1)
            split.setdefault(module, set()).add(symbol)
    assert whole & set(split) == set(), "a module is listed whole and split at once"
    missing = []
    for module, path in modules.items():
        if module in whole:
            continue
        if module not in split:
            missing.append(module)
            continue
        uncovered = sorted(set(_top_level_symbols(path)) - split[module])
        missing.extend(f"{module}:{name}" for name in uncovered)
    assert missing == []


def test_the_shared_models_module_really_is_split_across_domains(decomposition):
    owners = {service for entry, service in _entries(decomposition)
              if entry.startswith(f"{PACKAGE}.models:")}
    assert len(owners) >= 7
    assert {"catalog", "inventory", "orders", "payments"} <= owners


def test_decomposition_doc_names_every_service(decomposition):
    text = (PACKAGE_DIR / "DECOMPOSITION.md").read_text(encoding="utf-8")
    for service in decomposition["services"]:
        assert f"### {service}" in text
