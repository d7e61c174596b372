"""A plain traversal of libcst trees, without libcst's visitor machinery.

``tree.visit(visitor)`` rebuilds every node it passes (it is written for transformers), which
costs about as much as parsing itself. The analyser only reads trees, so it walks the dataclass
fields of each node directly, in source order (``field_order``): about 15 times faster.

Inside the analyser the core collector (``collect``) walks each module once and hands what it
learnt to the framework plug-ins that run next on the same tree as a ``WalkContext`` (the model
is libcst's ``CodemodContext``): the first line of the nodes they may ask about and the list of
the nodes they look at, with their enclosing function. So a plug-in neither counts lines nor
walks the module again, and nothing about the tree outlives the file in module globals.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from migrator.analysis import fieldorders
from migrator.analysis.lazy import cst

# names and literals: plug-ins read them through their parents (a call's func, an argument)
_LEAVES = frozenset({"Name", "Integer", "Float", "Imaginary", "SimpleString"})
_KEPT: dict[type, bool] = {}
_ORDER: dict[type, tuple[str, ...]] = {}
_DECLARED: dict[type, tuple[str, ...]] = {}
#: 1: a libcst node, 2: a sequence (of nodes), 0: anything else. ``isinstance`` against the
#: abstract ``CSTNode`` goes through ABC machinery; a dict lookup per type is much cheaper.
#: 3: ``SimpleWhitespace``, two nodes in five, which only matters to the collector when it holds
#: a backslash continuation.
KIND: dict[type, int] = {tuple: 2, list: 2, str: 0, type(None): 0, bool: 0, int: 0}

# Python source using every kind of libcst node with every optional part present, in snippets
# (a libcst too old for some syntax skips that snippet only). ``field_order`` learns the order
# of each node type's fields from how libcst's public ``children`` orders them in these trees.
PROBE = (
    "# c\nfrom . import (a as b, c,)\nfrom ..x.y import *\nfrom x import (a); import os.p as p, q\n",
    "x: int = 1; y += 2; del x, y; x = y = +z; a[1] = b.c = d; x, *y = z; x = ...; pass\n",
    "x += 1; x -= 1; x *= 1; x /= 1; x //= 1; x %= 1; x **= 1; x @= 1\n"
    "x &= 1; x |= 1; x ^= 1; x <<= 1; x >>= 1\n",
    "# c\n@d\n@e.f(1)\nasync def f[T: int, *Ts, **P](a, /, b: int = 1, *c: int, d=2, e: str, **f: g)"
    " -> None:\n    global g\n    nonlocal h\n    # c\n    async for i in j:\n        pass\n"
    "    # c\n    else:\n        continue\n    async with a as (b, c), d:\n        break\n"
    "    await x; yield x; yield from y; x = yield; return x\n",
    "# c\n@d\nclass C[T = int, *Ts = int, **P = int](B, *a, metaclass=M, **k):\n    '''doc'''\n",
    "type X[T] = list[T]\n# c\nfor i, j in k:\n    pass\n# c\nelse:\n    pass\n"
    "# c\nwhile x:\n    pass\nelse:\n    pass\n# c\nif a:\n    pass\n# c\nelif b:\n    pass\n"
    "# c\nelse:\n    pass\n",
    "# c\ntry:\n    pass\n# c\nexcept E as e:\n    pass\nexcept (A, B):\n    raise X from y\n"
    "else:\n    pass\n# c\nfinally:\n    pass\n",
    "try:\n    pass\n# c\nexcept* E as e:\n    pass\nelse:\n    pass\nfinally:\n    pass\n",
    "with (a as b, c as d,):\n    pass\nassert x, 'm'\nif x: pass; pass\nclass D: pass\n",
    "lambda a, /, b=1, *c, d=2, **e: a\nlambda: 0\nlambda *, a: 0\nx = a if b else c\n"
    "x = not a and b or c\nx = -a + b * c @ d // e ** f % g - h / i << j >> k & l | m ^ n\n"
    "x = ~a\nx = a < b <= c > d >= e == f != g in h not in i is j is not k\n",
    "x = f(a, *b, c=d, **e)\nx = a.b[c:d:e, f:, ::g, h]\nx = a[*b]\n"
    "x = [a, *b]; x = (a, *b); x = {a, *b}; x = {a: b, **c}\n"
    "x = [a for b in c if d if e for f in g]\nx = {a for b in c}\n"
    "x = {a: b async for c in d}\nx = (a for b in c)\nx = {**a for b in c}\nx = (y := 1)\n",
    "x = f\"a{b!r:>{c}}d{e=}\" f'{x}' \"s\" 'q'\nx = rb'b' b'u'\nx = 1.5 + 2j + 0x1\n"
    "x = [\n    1,  # c\n]\nprint(*a, sep='')\nx = (1)\nx = ((a), (b))\n",
    "x = t'a{b!r:>{c}}{d=}'\n",
    "lazy import a\nlazy from a import (b)\n",
    "match x:\n    # c\n    case 1 | 2 as y if z:\n        pass\n    case None | True:\n        pass\n"
    "    case [a, *rest, b]:\n        pass\n    case (a, b,):\n        pass\n"
    "    case {'k': v, **rest}:\n        pass\n    case C(a, b=c):\n        pass\n"
    "    case _:\n        pass\n    case -1 + 2j:\n        pass\n    case a.b:\n        pass\n",
)


def kind(tp: type) -> int:
    """``KIND`` of values of type ``tp`` (see there), noted on first use."""
    found = KIND.get(tp)
    if found is None:
        found = 3 if tp is cst.SimpleWhitespace else 1 if issubclass(tp, cst.CSTNode) else 0
        KIND[tp] = found
    return found


def field_order(tp: type) -> tuple[str, ...]:
    """Fields of a node type in source order (the order in which their nodes appear in code).

    libcst's public ``children`` lists a node's children in source order but costs a visit of
    the node; the walk needs one order per type. ``learnt_orders`` learns them from ``children``
    on the ``PROBE`` trees (80 ms); ``fieldorders.ORDERS`` ships what it learns from the libcst
    the tests run with, and serves every type whose fields are the ones it lists."""
    names = _ORDER.get(tp)
    if names is None:
        fields = _declared(tp)
        names = fieldorders.ORDERS.get(tp.__name__, ())
        if sorted(names) != sorted(fields):
            names = learnt_order(tp)
        _ORDER[tp] = names
    return names


def learnt_order(tp: type) -> tuple[str, ...]:
    """The fields of ``tp`` in the order ``learnt_orders`` saw them; the others (plain values,
    or parts the probe lacks) last, in declaration order."""
    fields = _declared(tp)
    ordered = [name for name in learnt_orders().get(tp, ()) if name in fields]
    return tuple(ordered + [f for f in fields if f not in ordered])


@lru_cache(maxsize=1)
def learnt_orders() -> dict[type, tuple[str, ...]]:
    """Per node type, the fields that hold nodes in the ``PROBE`` trees, in the order libcst's
    ``children`` lists them there (see ``field_order``)."""
    after: dict[type, dict[str, set[str]]] = {}  # type -> field -> the fields seen before it
    shapes: set[tuple[type, tuple[str, ...]]] = set()
    for snippet in PROBE:
        try:
            tree = cst.parse_module(snippet)
        except Exception:  # noqa: BLE001 - syntax this libcst does not have: nor its nodes
            continue
        stack: list[Any] = [tree]
        while stack:
            node = stack.pop()
            holding = _holding_nodes(node)
            for name in holding:
                value = getattr(node, name)
                stack.extend(value if kind(type(value)) == 2 else (value,))
            if (type(node), holding) in shapes:  # ``children`` costs a visit: once per shape
                continue
            table = after.setdefault(type(node), {})
            for sample in (node, *_filled(node)):
                shape = (type(node), _holding_nodes(sample))
                if sample is not node and shape in shapes:
                    continue
                shapes.add(shape)
                try:
                    seen = _fields_in_source_order(sample)
                except cst.CSTValidationError:  # ``children`` rebuilds the node: not this one
                    continue
                for i, name in enumerate(seen):
                    table.setdefault(name, set()).update(seen[:i])
    orders: dict[type, tuple[str, ...]] = {}
    for tp, table in after.items():
        declared = [f.name for f in dataclasses.fields(tp) if f.name in table]
        done: list[str] = []
        while len(done) < len(declared):  # the first field (declared first) whose befores are done
            done.append(next(n for n in declared if n not in done and table[n] <= set(done)))
        orders[tp] = tuple(done)
    return orders


def _holding_nodes(node: Any) -> tuple[str, ...]:
    """The fields of ``node`` that hold a node or a non-empty sequence of nodes."""
    return tuple(
        name
        for name in _declared(type(node))
        if (found := kind(type(value := getattr(node, name)))) in (1, 3)
        or (found == 2 and value and kind(type(value[0])) in (1, 3))
    )


def _declared(tp: type) -> tuple[str, ...]:
    names = _DECLARED.get(tp)
    if names is None:
        names = _DECLARED[tp] = tuple(field.name for field in dataclasses.fields(tp))
    return names


def _fields_in_source_order(node: Any) -> list[str]:
    """The fields of ``node`` that hold nodes, ordered by where ``children`` lists them."""
    position = {id(child): i for i, child in enumerate(node.children)}
    first = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        items = value if isinstance(value, (list, tuple)) else (value,)
        spots = [position[id(item)] for item in items if id(item) in position]
        if spots:
            first.append((min(spots), field.name))
    return [name for _, name in sorted(first)]


def _filled(node: Any) -> Iterator[Any]:
    """Copies of ``node`` with one of its empty optional fields holding a default node of a type
    it accepts (``lpar``, ``semicolon``, ``comma`` ...), so that its place shows in
    ``children``. The copies skip libcst's validation on creation."""
    hints = typing.get_type_hints(type(node))
    fills = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        empty = isinstance(value, (list, tuple)) and not value
        if value is None or empty or isinstance(value, cst.MaybeSentinel):
            filler = _default_node(hints[field.name])
            if filler is not None:
                fills[field.name] = [filler] if empty else filler
    # all at once (brackets come in pairs), then one by one (some are invalid together)
    for changes in (fills, *({name: fill} for name, fill in fills.items())) if fills else ():
        copy = object.__new__(type(node))
        for field in dataclasses.fields(node):
            object.__setattr__(copy, field.name, changes.get(field.name, getattr(node, field.name)))
        yield copy


def _default_node(hint: Any) -> Any:
    """A node built without arguments, of a concrete libcst type that ``hint`` names."""
    for tp in _named_types(hint):
        if isinstance(tp, type) and issubclass(tp, cst.CSTNode) and not tp.__abstractmethods__:
            try:
                return tp()
            except TypeError:  # required fields: nothing to build it from
                continue
    return None


def _named_types(hint: Any) -> Iterator[Any]:
    args = typing.get_args(hint)
    if not args:
        yield hint
    for arg in args:
        yield from _named_types(arg)


def kept(tp: type) -> bool:
    """Whether ``nodes`` lists nodes of type ``tp``: not whitespace or comments, not
    punctuation (a node whose every field is whitespace: commas, brackets, operators) and not
    a leaf name or literal. Nothing below a node that is not kept is kept either."""
    keep = _KEPT.get(tp)
    if keep is None:
        keep = _KEPT[tp] = (
            tp.__module__ != "libcst._nodes.whitespace"
            and tp.__name__ not in _LEAVES
            and any("whitespace" not in name for name in field_order(tp))
        )
    return keep


def has_line(tp: type) -> bool:
    """Whether ``WalkContext.line_of`` knows nodes of type ``tp``: the ``kept`` ones and the
    leaves (the collector does not note the lines of whitespace and punctuation)."""
    return kept(tp) or tp.__name__ in _LEAVES


class WalkContext:
    """What the collector's pass over one module leaves for the plug-ins that read the same
    tree next: ``tree``, the first line of its nodes (``line_of``) and its ``kept`` nodes in
    source order with their enclosing function (``nodes``). The analyser makes one per file and
    passes it to the plug-ins' ``collect``; it dies with the file."""

    __slots__ = ("tree", "lines", "walked")

    def __init__(
        self, tree: cst.Module, lines: dict[int, int], walked: list[tuple[Any, Any]]
    ) -> None:
        self.tree = tree
        self.lines = lines  # id(node) -> first line, after its leading blank and comment lines
        self.walked = walked

    def line_of(self, node: cst.CSTNode) -> int:
        """First line of ``node`` (after its leading blank and comment lines), 0 when unknown
        (or not ``has_line``): the collector counts newlines in its one pass, so no
        ``PositionProvider`` is needed."""
        return self.lines.get(id(node), 0)


def nodes(
    root: cst.CSTNode, scope: Any = None, ctx: WalkContext | None = None
) -> list[tuple[cst.CSTNode, Any]]:
    """``root`` and every node under it that is ``kept``, in source order (depth first), each
    with its innermost enclosing function: the ``FunctionDef`` (or ``Lambda``) node that
    contains it, ``scope`` for nodes outside any function below ``root``.

    For the module that ``ctx`` describes this is the collector's own list; for anything else
    (a subtree, a tree parsed in a test) the same list, walked here."""
    if ctx is not None and root is ctx.tree and scope is None:
        return ctx.walked
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
            found = kind(type(value))
            if found == 1:
                if kept(type(value)):
                    below.append((value, inner))
            elif found == 2:
                below.extend(
                    (child, inner)
                    for child in value
                    if kind(type(child)) == 1 and kept(type(child))
                )
        stack.extend(reversed(below))
    return out
