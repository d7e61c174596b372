"""Write migrator/analysis/fieldorders.py: the source order of the fields of every libcst node
type, as ``migrator.analysis.walk.learnt_order`` learns it from the installed libcst.

Run it after upgrading libcst when tests/analysis/test_speedups.py says the table is stale:
``python3 scripts/field_orders.py && ruff format migrator/analysis/fieldorders.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import libcst

from migrator.analysis.walk import learnt_order
from migrator.util.fs import atomic_write

HEADER = '''"""The source order of the fields of libcst's node types, so that a parser process need not
learn it (``walk.field_order``).

Written by scripts/field_orders.py from ``walk.learnt_order``, which reads libcst's public
``children``; tests/analysis/test_speedups.py checks it against the installed libcst.
"""

ORDERS: dict[str, tuple[str, ...]] = {
'''


def node_types() -> list[type]:
    """Every concrete libcst node type that libcst exports, by name."""
    return sorted(
        (
            tp
            for tp in vars(libcst).values()
            if isinstance(tp, type)
            and issubclass(tp, libcst.CSTNode)
            and dataclasses.is_dataclass(tp)
            and not getattr(tp, "__abstractmethods__", None)
        ),
        key=lambda tp: tp.__name__,
    )


def table() -> dict[str, tuple[str, ...]]:
    """Type name -> its fields in source order."""
    return {tp.__name__: learnt_order(tp) for tp in node_types()}


def main() -> None:
    body = "".join(f"    {name!r}: {order!r},\n" for name, order in table().items())
    target = Path(__file__).resolve().parent.parent / "migrator" / "analysis" / "fieldorders.py"
    atomic_write(target, HEADER + body + "}\n")


if __name__ == "__main__":
    main()
