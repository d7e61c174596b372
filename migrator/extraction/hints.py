"""SQLAlchemy loading hints that name another service's model, dropped from the moved code.

``selectinload(List.items).joinedload(Item.food)``, ``joinedload(Row.user).load_only(User.a)``
only say *when* related rows or columns are loaded (with the query, or on first access), never
*which* rows or values the query returns. A hint whose path reaches another service's model
cannot run in this service (that model's table and relationships are in another database); the
query it is applied to returns the same rows without it. So a hint in a list literal or in a
``.options(...)`` call is cut back to its part on this service's own models, or dropped when no
such part is left, and the model names it held are no longer used there.

Only hints with no keyword argument are touched (``innerjoin=True`` can drop rows, ``raiseload``
raises), only hint functions imported from SQLAlchemy, and only paths whose every step names one
known model (``Model.attr``); anything else stays as written and listed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from migrator.extraction.data import relationship_calls
from migrator.extraction.source import ModuleInfo

#: loader options that change only when rows or columns are loaded, not the query's result
PURE = {
    "joinedload",
    "selectinload",
    "subqueryload",
    "immediateload",
    "lazyload",
    "defaultload",
    "load_only",
    "defer",
    "undefer",
}


def hint_bindings(info: ModuleInfo) -> dict[str, str]:
    """Local names of SQLAlchemy's hint functions in the module (``joinedload`` or an alias)."""
    return {
        i.binding: i.name
        for i in info.imports
        if i.name in PURE and i.module.split(".")[0] == "sqlalchemy"
    }


def relationship_targets(classes: dict[str, cst.ClassDef]) -> dict[tuple[str, str], str]:
    """(model, attribute) -> the model a ``relationship(Target, ...)`` of the class leads to."""
    return {
        (name, attr): target
        for name, node in classes.items()
        for attr, (target, _) in relationship_calls(node).items()
    }


def _links(node: cst.BaseExpression, bindings: dict[str, str]) -> list[tuple[cst.Call, str]] | None:
    """The steps of a hint chain, root first, each with the model its arguments name."""
    out: list[tuple[cst.Call, str]] = []
    while isinstance(node, cst.Call):
        if isinstance(node.func, cst.Name):
            if bindings.get(node.func.value) is None:
                return None
            nxt: cst.BaseExpression | None = None
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value in PURE:
            nxt = node.func.value
        else:
            return None
        models = set()
        for arg in node.args:
            value = arg.value
            if arg.keyword is not None or arg.star or not isinstance(value, cst.Attribute):
                return None
            if not isinstance(value.value, cst.Name):
                return None
            models.add(value.value.value)
        if len(models) != 1:
            return None
        out.append((node, models.pop()))
        if nxt is None:
            return out[::-1]
        node = nxt
    return None


def _attr(arg: cst.Arg) -> str:
    """The attribute a step's ``Model.attr`` argument names (``_links`` checked the shape)."""
    return arg.value.attr.value if isinstance(arg.value, cst.Attribute) else ""


@dataclass(frozen=True)
class Rule:
    """What one service's moved code keeps of a module's hints."""

    bindings: dict[str, str]  # the module's names of SQLAlchemy's hint functions
    local: set[str]  # model class names of this service and the kernel
    foreign: set[str]  # model class names of other services
    targets: dict[tuple[str, str], str]  # (model, attribute) -> the relationship's target

    def judge(self, node: cst.BaseExpression) -> int | None:
        """How many leading steps of a hint to keep (0: drop it), or None to leave it.

        A step that loads a relationship to another service's model goes (that relationship
        is cut here), and so does a step naming such a model: step k+1 names the model step
        k leads to, so step k goes with it."""
        links = _links(node, self.bindings)
        if links is None or any(m not in self.local and m not in self.foreign for _, m in links):
            return None
        keep = len(links)
        for j, (call, model) in enumerate(links):
            if model in self.foreign:
                keep = min(keep, max(j - 1, 0))
            elif any(self.targets.get((model, _attr(a)), "") in self.foreign for a in call.args):
                keep = min(keep, j)
        return None if keep == len(links) else keep


def _prefix(node: cst.BaseExpression, keep: int, bindings: dict[str, str]) -> cst.BaseExpression:
    links = _links(node, bindings)
    assert links is not None
    return links[keep - 1][0]


def _items(node: cst.CSTNode) -> list[cst.BaseExpression] | None:
    """The hint positions of a container: a list literal's elements, ``.options(...)`` args."""
    if isinstance(node, cst.List):
        return [e.value for e in node.elements if isinstance(e, cst.Element)]
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "options"
    ):
        return [a.value for a in node.args if a.keyword is None and not a.star]
    return None


class _Dropped(cst.CSTVisitor):
    """(line, model) of each model name in the steps a hint loses, and of every model name."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.dropped: Counter[tuple[int, str]] = Counter()
        self.named: Counter[tuple[int, str]] = Counter()

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.rule.foreign:
            self.named[(self.get_metadata(PositionProvider, node).start.line, node.value)] += 1

    def _visit(self, node: cst.CSTNode) -> None:
        for item in _items(node) or []:
            keep = self.rule.judge(item)
            if keep is None:
                continue
            links = _links(item, self.rule.bindings) or []
            for call, model in links[keep:]:
                for arg in call.args:
                    name = arg.value.value  # type: ignore[attr-defined]
                    line = self.get_metadata(PositionProvider, name).start.line
                    if model in self.rule.foreign:
                        self.dropped[(line, model)] += 1

    def visit_List(self, node: cst.List) -> None:
        self._visit(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._visit(node)


def dropped_uses(info: ModuleInfo, rule: Rule) -> set[tuple[int, str]]:
    """(line, model) of another service's model that the module names on that line only in
    hints the moved code drops: such a use is gone from the moved code."""
    visitor = _Dropped(rule)
    MetadataWrapper(info.module).visit(visitor)
    return {k for k, n in visitor.dropped.items() if visitor.named[k] == n}


class LoaderHints(cst.CSTTransformer):
    """Cut hints that reach another service's model back to their local part, or drop them."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def _kept(self, value: cst.BaseExpression) -> cst.BaseExpression | None:
        keep = self.rule.judge(value)
        if keep is None:
            return value
        return _prefix(value, keep, self.rule.bindings) if keep else None

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.List:
        elements = []
        for e in updated.elements:
            value = self._kept(e.value) if isinstance(e, cst.Element) else e.value
            if value is not None:
                elements.append(e.with_changes(value=value))
        if not elements:
            return cst.List([], lpar=updated.lpar, rpar=updated.rpar)
        if len(elements) < len(updated.elements):  # the last one keeps the list's own ending
            elements[-1] = elements[-1].with_changes(comma=updated.elements[-1].comma)
        return updated.with_changes(elements=elements)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if _items(updated) is None:
            return updated
        args = []
        for a in updated.args:
            value = a.value if a.keyword is not None or a.star else self._kept(a.value)
            if value is not None:
                args.append(a.with_changes(value=value))
        if args and len(args) < len(updated.args):
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)
