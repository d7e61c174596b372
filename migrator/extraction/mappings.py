"""Values that only look like rows. A parameter named like a model (``entity``, ``task``) is
taken for a row of it; but a function that reads it as ``entity["project_id"]`` is given a
mapping (a row answers no subscript), and a dict crosses a network as data. The evidence is
followed where the value goes: a function that only hands it on to such functions is given a
mapping too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from migrator.extraction.mover import dotted, import_bindings, target_names

if TYPE_CHECKING:
    from migrator.extraction.convert import Classifier

#: what the callee may call on a mapping besides reading a key (neither evidence nor
#: contradiction: ``get`` may also be a model's class method)
DICT_METHODS = {"get", "items", "keys", "values", "copy"}
#: builtins that ask what a value is: a function asking may be given a row as well
TYPE_TESTS = {"isinstance", "hasattr", "getattr", "setattr", "type", "vars"}

#: how a parameter's verdict says that it is used as a mapping
MAPPING_REASON = "read as a mapping (name['key']), so not a row"


def mapping_param(
    classifier: Classifier,
    module: str,
    func: cst.FunctionDef,
    param: str,
    seen: frozenset[tuple[str, str, str]] = frozenset(),
) -> bool:
    """``param`` of ``func`` holds a mapping that crosses as data: the function reads a key of
    it (``p["k"]``), or hands it to a function of the monolith that does, and never reads an
    attribute of it other than a dict's reading methods, asks its type, binds the name again,
    or changes the mapping in place (``p["k"] = v``, ``p.update(...)``, or a function it is
    handed to that is not judged so): the caller's dict would not see such a change."""
    here = (module, func.name.value, param)
    if here in seen:
        return False
    uses = _Uses(classifier, module, param, seen | {here})
    func.body.visit(uses)
    return uses.evidence and not uses.contradicted


class _Uses(cst.CSTVisitor):
    def __init__(
        self,
        classifier: Classifier,
        module: str,
        name: str,
        seen: frozenset[tuple[str, str, str]],
    ) -> None:
        self.classifier = classifier
        self.module = module
        self.name = name
        self.seen = seen
        self.evidence = False
        self.contradicted = False

    def _is(self, node: cst.BaseExpression | None) -> bool:
        return isinstance(node, cst.Name) and node.value == self.name

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a nested function may bind the name to something else

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self._is(node.value):
            keys = [el.slice for el in node.slice]
            if len(keys) == 1 and isinstance(keys[0], cst.Index):
                key = keys[0].value
                if isinstance(key, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
                    self.evidence = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._is(node.value) and node.attr.value not in DICT_METHODS:
            self.contradicted = True  # ``entity.name``: a row, or any other object

    def visit_Call(self, node: cst.Call) -> None:
        func = dotted(node.func)
        given = [i for i, a in enumerate(node.args) if self._is(a.value)]
        if not given:
            return
        if func in TYPE_TESTS:
            self.contradicted = True
            return
        callee = self.classifier.callee(func, self.module) if func else None
        if callee is None:
            return
        target = self.classifier.tree.info(callee[0]).functions[callee[1]]
        positional = [p.name for p in target.params if p.kind in ("posonly", "pos")]
        for i in given:
            arg = node.args[i]
            name = (
                arg.keyword.value if arg.keyword else positional[i] if i < len(positional) else ""
            )
            if (
                not arg.star
                and name
                and mapping_param(self.classifier, callee[0], target.node, name, self.seen)
            ):
                self.evidence = True
            else:
                self.contradicted = True  # it may change the mapping, or need more

    def _changed(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Subscript) and self._is(target.value):
            self.contradicted = True  # ``p["k"] = v``: a change the caller would not see

    def _bound(self, target: cst.BaseExpression) -> None:
        if self.name in target_names(target):
            self.contradicted = True

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bound(node.target)
        self._changed(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bound(node.target)
        self._changed(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._changed(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bound(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bound(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bound(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bound(node.asname.name)


def bindings(func: cst.FunctionDef) -> dict[str, list[cst.BaseExpression] | None]:
    """Every value a name of ``func`` is bound to by ``name = value`` (nested functions
    aside); None for a name bound in any other way as well (a parameter, a loop, ``with``,
    ``+=``, unpacking, an import), whose values are then not all known."""
    out: dict[str, list[cst.BaseExpression] | None] = {}

    def other(target: cst.BaseExpression) -> None:
        out.update(dict.fromkeys(target_names(target)))

    class V(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    known = out.setdefault(t.target.value, [])
                    if known is not None:
                        known.append(node.value)
                else:
                    other(t.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if node.value is None:
                return
            if isinstance(node.target, cst.Name):
                known = out.setdefault(node.target.value, [])
                if known is not None:
                    known.append(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            other(node.target)

        def visit_For(self, node: cst.For) -> None:
            other(node.target)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            other(node.target)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            other(node.target)

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                other(node.asname.name)

        def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
            if node.name is not None:
                other(node.name.name)

        def visit_Import(self, node: cst.Import) -> None:
            out.update(dict.fromkeys(import_bindings(node)))

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            out.update(dict.fromkeys(import_bindings(node)))

        def visit_Global(self, node: cst.Global) -> None:
            for n in node.names:
                out[n.name.value] = None

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            for n in node.names:
                out[n.name.value] = None

    for p in [*func.params.params, *func.params.kwonly_params, *func.params.posonly_params]:
        out[p.name.value] = None
    for star in (func.params.star_arg, func.params.star_kwarg):
        if isinstance(star, cst.Param):
            out[star.name.value] = None
    func.body.visit(V())
    return out
