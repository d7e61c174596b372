"""A plain traversal of libcst trees, without libcst's visitor machinery.

``tree.visit(visitor)`` rebuilds every node it passes (it is written for transformers), which
costs about as much as parsing itself. The analyser only reads trees, so it walks the dataclass
fields of each node directly: about 15 times faster.

Inside the analyser the core collector (``collect``) walks each module once and leaves two
things here for the framework plug-ins that run next on the same tree: the first line of the
nodes they may ask about (``line_of``) and the list of the nodes they look at, with their
enclosing function (``nodes``). So a plug-in neither counts lines nor walks the module again.
"""

from __future__ import annotations

from typing import Any

from migrator.analysis.lazy import cst

# names and literals: plug-ins read them through their parents (a call's func, an argument)
_LEAVES = frozenset({"Name", "Integer", "Float", "Imaginary", "SimpleString"})
_KEPT: dict[type, bool] = {}
_LINES: dict[int, int] = {}
_TREE: list[Any] = [None, None]  # the module the collector walked last, and its ``nodes``


def kept(tp: type) -> bool:
    """Whether ``nodes`` lists nodes of type ``tp``: not whitespace or comments, not
    punctuation (a node whose every field is whitespace: commas, brackets, operators) and not
    a leaf name or literal. Nothing below a node that is not kept is kept either."""
    keep = _KEPT.get(tp)
    if keep is None:
        from migrator.analysis.collect import field_order

        keep = _KEPT[tp] = (
            tp.__module__ != "libcst._nodes.whitespace"
            and tp.__name__ not in _LEAVES
            and any("whitespace" not in name for name in field_order(tp))
        )
    return keep


def has_line(tp: type) -> bool:
    """Whether ``line_of`` knows nodes of type ``tp``: the ``kept`` ones and the leaves (the
    collector does not note the lines of whitespace and punctuation)."""
    return kept(tp) or tp.__name__ in _LEAVES


def remember(tree: Any, lines: dict[int, int], nodes: list[tuple[Any, Any]]) -> None:
    """Called by the collector after its pass over ``tree``: see the module docstring."""
    global _LINES
    _LINES = lines
    _TREE[0], _TREE[1] = tree, nodes


def forget() -> None:
    """Drop what ``remember`` kept (the tree and everything it holds alive)."""
    global _LINES
    _LINES = {}
    _TREE[0] = _TREE[1] = None


def line_of(node: cst.CSTNode) -> int:
    """First line of ``node`` (after its leading blank and comment lines) in the tree that the
    collector just walked, 0 when unknown (or not ``has_line``). Valid while plug-ins'
    ``collect`` runs: the collector counts newlines in its one pass, so no
    ``PositionProvider`` is needed."""
    return _LINES.get(id(node), 0)


def nodes(root: cst.CSTNode, scope: Any = None) -> list[tuple[cst.CSTNode, Any]]:
    """``root`` and every node under it that is ``kept``, in source order (depth first), each
    with its innermost enclosing function: the ``FunctionDef`` (or ``Lambda``) node that
    contains it, ``scope`` for nodes outside any function below ``root``.

    For the module the collector has just walked this is the collector's own list; for
    anything else (a subtree, a tree parsed in a test) the same list, walked here."""
    if root is _TREE[0] and scope is None:
        return _TREE[1]
    from migrator.analysis.collect import _kind, field_order  # 1: a node, 2: a sequence

    out: list[tuple[cst.CSTNode, Any]] = []
    stack: list[tuple[cst.CSTNode, Any]] = [(root, scope)]
    while stack:
        item = stack.pop()
        out.append(item)
        node, sc = item
        tp = type(node)
        inner = node if tp is cst.FunctionDef or tp is cst.Lambda else sc
        below: list[tuple[cst.CSTNode, Any]] = []
        for name in field_order(tp):
            value = getattr(node, name)
            kind = _kind(type(value))
            if kind == 1:
                if kept(type(value)):
                    below.append((value, inner))
            elif kind == 2:
                below.extend(
                    (child, inner)
                    for child in value
                    if _kind(type(child)) == 1 and kept(type(child))
                )
        stack.extend(reversed(below))
    return out
