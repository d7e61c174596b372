"""URL patterns built by functions: ``get_urls()`` registries and URL factory helpers (Django).

Projects often build URL patterns in code rather than in a ``urlpatterns`` list: a module
class's ``get_urls(self)`` returns ``[admin_url(r"^x/$", "pkg.views.XView"), ...]``, where
``admin_url(regex, view, ...)`` wraps ``url()`` / a ``URLPattern`` subclass, and helpers like
``get_edit_and_list_urls(url_prefix="^tax", view_template="pkg.views.Tax%sView")`` return
several such calls built with ``%`` formatting. The worker half describes the calls of such
functions symbolically (``template``); the parent half binds the arguments of each call to
the parameters of the function it calls and evaluates the templates, down to the terminal
``url``/``path``/``re_path``/``*URLPattern(...)`` calls, giving (regex, view) pairs.

Templates (JSON): ``{"s": text}`` a string, ``{"p": name}`` a parameter or local name,
``{"fmt": [template, [args]]}`` ``template % args``, ``{"cat": [a, b]}`` ``a + b``,
``{"d": dotted}`` a name (a view), ``{"as_view": dotted}`` ``View.as_view(...)``,
``{"a": name}`` ``self.name`` (a class attribute: a registry method runs for each class that
inherits it, with that class's string attributes, ``url_prefix = "^taxes"``, bound).
"""

from __future__ import annotations

from typing import Any, TypedDict

from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst

Template = dict[str, Any]  # one of the forms above (nested: JSON has no recursive type here)


class UrlCall(TypedDict):
    """A call a URL function makes, its arguments as templates (None: none of the forms)."""

    func: str | None
    pos: list[Template | None]
    kw: dict[str, Template | None]


class _UrlFuncShape(TypedDict):
    params: list[str]
    calls: list[UrlCall]
    locals: dict[str, str]  # local string constants


class UrlFunc(_UrlFuncShape, total=False):
    """What ``describe`` says of a function; the Django plug-in adds ``registry`` (named like
    ``get_urls``) and ``line``."""

    registry: bool
    line: int


#: functions that build a URL pattern from (regex or route, view)
TERMINALS = ("path", "re_path", "url")
#: methods whose URL patterns are a registry's contribution (rooted at the URL conf's root)
REGISTRY_METHODS = ("get_urls", "get_url_patterns")
_LIST_METHODS = (".extend", ".append", ".insert", ".__add__")
_MAX_DEPTH = 6


def template(node: cst.CSTNode | None) -> dict[str, Any] | None:
    """The symbolic form of an argument expression, None when it is none of the forms."""
    if node is None:
        return None
    text = u.string(node)
    if text is not None:
        return {"s": text}
    if isinstance(node, cst.Name):
        return {"p": node.value}
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        if node.value.value == "self":  # ``self.url_prefix``: a class attribute
            return {"a": node.attr.value}
    if isinstance(node, cst.BinaryOperation):
        left, right = template(node.left), template(node.right)
        if isinstance(node.operator, cst.Modulo) and left is not None:
            items = node.right.elements if isinstance(node.right, cst.Tuple) else None
            args = [template(e.value) for e in items] if items is not None else [right]
            return {"fmt": [left, args]} if all(a is not None for a in args) else None
        if isinstance(node.operator, cst.Add) and left is not None and right is not None:
            return {"cat": [left, right]}
        return None
    if isinstance(node, cst.Call):
        name = u.callee(node) or ""
        if name.endswith(".as_view"):
            return {"as_view": name[: -len(".as_view")]}
        if node.args and not node.args[0].keyword:  # a wrapper: csrf_exempt(view)
            return template(node.args[0].value)
        return None
    dotted = u.dotted(node)
    return {"d": dotted} if dotted else None


def _calls(expr: cst.CSTNode | None, out: list[cst.Call]) -> None:
    """The outermost calls that may make URL patterns in a list-building expression."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        for el in expr.elements:
            _calls(el.value, out)
    elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        _calls(expr.left, out)
        _calls(expr.right, out)
    elif isinstance(expr, cst.Call):
        name = u.callee(expr) or ""
        if name.endswith(_LIST_METHODS) or name in ("list", "tuple"):
            for a in expr.args:
                _calls(a.value, out)
        elif name and not name.startswith("super"):
            out.append(expr)


def returns_built(func: cst.FunctionDef) -> bool:
    """Whether a top-level statement of ``func`` returns a call, a list/tuple or a sum (what
    a URL factory returns): a cheap test before reading the body."""
    return any(
        type(small) is cst.Return
        and type(small.value) in (cst.Call, cst.List, cst.Tuple, cst.BinaryOperation)
        for small in u.small_statements(func.body)
    )


def describe(func: cst.FunctionDef) -> UrlFunc | None:
    """Parameters of ``func`` and the calls its body makes URL patterns with, each as
    ``{"func": callee, "pos": [templates], "kw": {name: template}}``; None if it makes none."""
    found: list[cst.Call] = []
    local: dict[str, str] = {}  # ``url_prefix = "^cms/page"``: local string constants
    for node, _ in u.walk(func.body, func):
        if type(node) is cst.Return or type(node) is cst.Expr:
            _calls(node.value, found)
        elif type(node) is cst.AugAssign:
            _calls(node.value, found)
        elif type(node) is cst.Assign or type(node) is cst.AnnAssign:
            _calls(node.value, found)
            text = u.string(node.value)
            if text is not None:
                local.update((n, text) for n in u.assign_targets(node)[0])
    calls: list[UrlCall] = []
    for call in found:
        pos = [template(a.value) for a in call.args if not a.keyword and not a.star]
        kw = {a.keyword.value: template(a.value) for a in call.args if a.keyword}
        if not pos and not kw:
            continue
        calls.append({"func": u.callee(call), "pos": pos, "kw": dict(sorted(kw.items()))})
    if not calls:
        return None
    params = [
        p.name.value
        for p in (*func.params.posonly_params, *func.params.params, *func.params.kwonly_params)
    ]
    return {"params": params, "calls": calls, "locals": dict(sorted(local.items()))}


def evaluate(tmpl: dict[str, Any] | None, env: dict[str, Any]) -> Any:
    """A template's value: a string, ``{"d"/"as_view": name, "m": module}`` for a view
    reference, or None when unknown. ``env`` maps names to values (parameters bound)."""
    if tmpl is None:
        return None
    if "s" in tmpl:
        return tmpl["s"]
    if "p" in tmpl:
        return env.get(tmpl["p"], {"d": tmpl["p"], "m": env.get("__module__")})
    if "a" in tmpl:  # bound as ``self.<name>`` from the class's string attributes
        name = f"self.{tmpl['a']}"
        return env.get(name, {"d": name, "m": env.get("__module__")})
    if "cat" in tmpl:
        a, b = (evaluate(t, env) for t in tmpl["cat"])
        return a + b if isinstance(a, str) and isinstance(b, str) else None
    if "fmt" in tmpl:
        fmt = evaluate(tmpl["fmt"][0], env)
        args = [evaluate(t, env) for t in tmpl["fmt"][1]]
        if not isinstance(fmt, str) or not all(isinstance(a, str) for a in args):
            return None
        try:
            return fmt % tuple(args)
        except (TypeError, ValueError):
            return None
    key = "d" if "d" in tmpl else "as_view"
    return {key: tmpl[key], "m": env.get("__module__")}


def expand(
    call: UrlCall, module: str, env: dict[str, Any], lookup: Any, depth: int = 0
) -> list[tuple[str, str, Any, int | None]]:
    """(kind, regex, view, None) for each pattern a call makes: a terminal call directly,
    a URL function (``lookup(module, name)`` -> (its module, its description) or None) through
    its own calls with the arguments bound to its parameters."""
    name = call["func"] or ""
    env = dict(env, __module__=module)
    last = u.last(name) or ""
    if last in TERMINALS or last.endswith("URLPattern"):
        regex = evaluate(
            call["pos"][0]
            if call["pos"]
            else call["kw"].get("route") or call["kw"].get("regex") or call["kw"].get("pattern"),
            env,
        )
        view = evaluate(
            call["pos"][1]
            if len(call["pos"]) > 1
            else call["kw"].get("view") or call["kw"].get("callback"),
            env,
        )
        if not isinstance(regex, str) or view is None:
            return []
        return [("path" if last == "path" else "re_path", regex, view, None)]
    if depth >= _MAX_DEPTH:
        return []
    found = lookup(module, name)
    if found is None:
        return []
    target_module, desc = found
    bound: dict[str, Any] = dict(desc.get("locals", {}))
    for param, value in zip(desc["params"], call["pos"], strict=False):
        bound[param] = evaluate(value, env)
    for key, value in call["kw"].items():
        if key in desc["params"]:
            bound[key] = evaluate(value, env)
    out = []
    for inner in desc["calls"]:
        out.extend(expand(inner, target_module, bound, lookup, depth + 1))
    return out


def uses_self(desc: UrlFunc) -> bool:
    """Whether a description's calls read ``self.<attribute>`` anywhere."""

    def has(t: Any) -> bool:
        if isinstance(t, dict):
            return "a" in t or any(has(v) for v in t.values())
        return isinstance(t, list) and any(has(v) for v in t)

    return any(has(c["pos"]) or has(c["kw"]) for c in desc["calls"])
