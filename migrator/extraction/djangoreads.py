"""Django queryset reads that a generated read model answers, decided from the code alone.

A Django view of one service often reads another service's model through its manager:
``Model.objects.filter(Q(a=1) | Q(b=2)).exclude(c=3).values_list("id", flat=True)``,
``.order_by(...)``, ``.aggregate(total=Sum("x"))``, ``except Model.DoesNotExist``. The caller's
read model (``runtime.ReadQuery``) sends such a chain to the owner as JSON steps, and the owner's
reader runs it with its own ORM; this module says which chains can be sent so (only what the
runtime can send: ``Q`` trees of keyword lookups, field names as strings, the five standard
aggregates), so that only those count as converted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from migrator.extraction.convert import Verdict
from migrator.extraction.mover import dotted

if TYPE_CHECKING:
    from migrator.extraction.convert import Classifier
    from migrator.extraction.source import FunctionInfo

#: steps whose positional arguments are field names (string literals)
FIELD_ARGS = set(
    "order_by distinct values_list values select_related prefetch_related only defer".split()
)
#: queryset methods the read model sends as steps (``runtime.ReadQuery``), beyond the reads of
#: ``rewrite.READ_CHAIN``; ``select_related`` and the like only tune the owner's query
STEPS = FIELD_ARGS | {"exclude", "none", "aggregate"}
#: writes the read model sends to the owner's endpoint (``runtime.DJANGO_WRITES``), each with
#: an idempotency key
WRITE_STEPS = {"create", "get_or_create", "update_or_create", "update", "delete"}
#: steps whose result is plain data (values, numbers), never rows of the model
PLAIN = {"values_list", "values", "aggregate", "count", "exists", "update", "delete"}
#: aggregates the owner rebuilds (``django.db.models``), each of one field name
AGGREGATES = {"Count", "Sum", "Avg", "Min", "Max"}
#: exceptions a read model raises as the model's own (``ReadModel.DoesNotExist``)
EXCEPTIONS = {"DoesNotExist", "MultipleObjectsReturned"}


def step_sendable(method: str, call: cst.Call) -> bool:
    """The arguments of ``objects.<method>(...)`` in a Django read chain can be sent: keyword
    lookups and ``Q`` trees for filters, string field names, standard aggregates."""
    if any(a.star for a in call.args):
        return False
    positional = [a.value for a in call.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if method in ("filter", "exclude", "get"):
        return all(_q_tree(v) for v in positional)
    if method in FIELD_ARGS:
        allowed = {"flat", "named"} if method == "values_list" else set()
        return all(isinstance(v, cst.SimpleString) for v in positional) and set(keywords) <= allowed
    if method == "aggregate":
        return not positional and bool(keywords) and all(map(_aggregate, keywords.values()))
    if method in ("none", "delete"):
        return not call.args
    if method in WRITE_STEPS:
        return not positional  # column values (a row for a foreign key goes as its key)
    if method in STEPS:
        return False
    return True  # a read of rewrite.READ_CHAIN, or the model's own manager method (custom_read)


#: Django functions that take a real ``QuerySet`` (slice it, read its ``model``, compile it):
#: a read model's chain handed to them is not a read
QUERYSET_TAKERS = {"Paginator", "get_object_or_404", "get_list_or_404", "Prefetch"}


def needs_queryset(call: cst.CSTNode | None) -> bool:
    """``call`` is one of ``QUERYSET_TAKERS`` (the chain is one of its arguments)."""
    return isinstance(call, cst.Call) and dotted(call.func).split(".")[-1] in QUERYSET_TAKERS


def model_of_class(parent: cst.CSTNode, name: cst.Name, scopes: list[str]) -> bool:
    """``name`` is the value of ``model = name`` in a class body (a ``ModelForm``'s ``Meta``, a
    generic view, an admin): Django builds that class from the model itself (its fields, its
    manager, its rows' ``save``), which a read model is not."""
    return (
        bool(scopes)
        and scopes[-1] == "class"
        and isinstance(parent, cst.Assign)
        and parent.value is name
        and any(
            isinstance(t.target, cst.Name) and t.target.value == "model" for t in parent.targets
        )
    )


def plain_result(call: cst.BaseExpression) -> bool:
    """The chain ending in ``call`` gives plain data (``values_list``, ``aggregate``, a count)
    rather than rows, so its caller cannot misuse a row."""
    node: cst.BaseExpression = call
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value in PLAIN:
            return True
        node = node.func.value
    return False


def _q_tree(expr: cst.BaseExpression) -> bool:
    """``Q(a=1)``, ``~Q(...)``, ``Q(...) | Q(...)``, ``Q(...) & Q(...)`` of keyword lookups."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.BitInvert):
        return _q_tree(expr.expression)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.BitOr, cst.BitAnd)):
        return _q_tree(expr.left) and _q_tree(expr.right)
    if isinstance(expr, cst.Call) and dotted(expr.func).split(".")[-1] == "Q":
        return all(not a.star and (a.keyword is not None or _q_tree(a.value)) for a in expr.args)
    return False


def _aggregate(expr: cst.BaseExpression) -> bool:
    """``Sum("field")`` (``Count("field", distinct=True)``): one of ``AGGREGATES``."""
    return (
        isinstance(expr, cst.Call)
        and dotted(expr.func).split(".")[-1] in AGGREGATES
        and len([a for a in expr.args if a.keyword is None]) == 1
        and isinstance(expr.args[0].value, cst.SimpleString)
        and all(a.keyword is None or a.keyword.value == "distinct" for a in expr.args)
    )


#: calls that change rows: a manager method making one is not a read
WRITES = {
    "create",
    "update",
    "delete",
    "save",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "add",
    "remove",
    "set",
    "clear",
}


def custom_read(
    classifier: Classifier, model: str, method: str, call: cst.Call | None = None
) -> str:
    """Why ``Model.objects.<method>(...)``, a method of the model's own manager or queryset
    class, cannot be run by the owner for a read model ('' when it can): it must give a
    queryset of the model (every ``return`` a chain on ``self``), change nothing, and use its
    parameters only as values (filter lookups, tests), since a row crosses as its key. A
    parameter that ``call`` fills with the request's user (``request.user``) may be read as
    a row: the owner gets its own user of that key (``runtime.USER``), as for a request."""
    for cls in _manager_classes(classifier, model, frozenset()):
        module, _, name = cls.partition(":")
        for stmt in getattr(classifier.tree.info(module).classes[name].node.body, "body", []):
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == method:
                return _queryset_method(stmt, _user_params(stmt, call))
    return f"{method} is not a method of {model.partition(':')[2]}'s manager"


def request_user(expr: cst.BaseExpression) -> bool:
    """``request.user`` or ``self.request.user``: the user Django's middleware set, a row
    of the user model every service shares (or ``AnonymousUser``)."""
    name = dotted(expr)
    return name == "request.user" or name.endswith(".request.user")


def _user_params(func: cst.FunctionDef, call: cst.Call | None) -> frozenset[str]:
    """Parameters of the manager method ``func`` that ``call`` fills with the request's
    user."""
    if call is None or any(a.star for a in call.args):
        return frozenset()
    found = {_param_for(func, call, a, True) for a in call.args if request_user(a.value)}
    return frozenset(p for p in found if p is not None)


def _manager_classes(classifier: Classifier, model: str, seen: frozenset[str]) -> list[str]:
    """Classes of the tree that the model's ``objects`` is made of (``Manager()``,
    ``Manager.from_queryset(QuerySet)()``, ``QuerySet.as_manager()``, a manager's
    ``queryset_class``), with the classes of the tree they derive from; a model without its
    own ``objects`` has its base model's."""
    module, _, name = model.partition(":")
    info = (
        classifier.tree.info(module).classes.get(name) if module in classifier.tree.files else None
    )
    if info is None or model in seen:
        return []
    values = _assigned(info.node, "objects")
    if not values:
        return [
            c
            for base in info.bases
            if (parent := classifier.class_of(base, module)) is not None
            for c in _manager_classes(classifier, parent, seen | {model})
        ]
    out: list[str] = []
    todo = [(module, n) for v in values for n in _names(v)]
    while todo:
        mod, n = todo.pop()
        found = classifier.class_of(n, mod)
        if found is None or found in out:
            continue
        out.append(found)
        fmod, _, fname = found.partition(":")
        node = classifier.tree.info(fmod).classes[fname]
        todo += [(fmod, b) for b in node.bases]
        todo += [(fmod, x) for v in _assigned(node.node, "queryset_class") for x in _names(v)]
    return out


def _assigned(cls: cst.ClassDef, attr: str) -> list[cst.BaseExpression]:
    """Values of ``attr = ...`` at the top of a class body."""
    return [
        small.value
        for stmt in getattr(cls.body, "body", [])
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        if isinstance(small, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == attr for t in small.targets)
    ]


def _names(expr: cst.CSTNode) -> list[str]:
    class _All(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.names.append(node.value)

    finder = _All()
    expr.visit(finder)
    return finder.names


def _queryset_method(func: cst.FunctionDef, users: frozenset[str] = frozenset()) -> str:
    params = [p.name.value for p in func.params.params[1:]] + [
        p.name.value for p in func.params.kwonly_params
    ]
    if func.params.star_arg not in (cst.MaybeSentinel.DEFAULT, None) or func.params.star_kwarg:
        return f"{func.name.value} takes *args/**kwargs"
    facts = _Body(set(params))
    func.body.visit(facts)
    if facts.writes:
        return f"{func.name.value} changes rows ({', '.join(sorted(facts.writes))})"
    if facts.used_as_row - users:
        rows = sorted(facts.used_as_row - users)
        return f"{func.name.value} reads attributes of {', '.join(rows)}"
    local = {"self"}
    changed = True
    while changed:  # names bound to a queryset made from self
        changed = False
        for name, value in facts.assigned:
            if name not in local and _rooted(value, local):
                local.add(name)
                changed = True
    if not facts.returns or not all(_rooted(v, local) for v in facts.returns):
        return f"{func.name.value} does not return a queryset of the model"
    return ""


def _rooted(expr: cst.BaseExpression, roots: set[str]) -> bool:
    """A call/attribute chain that starts at one of ``roots`` (both arms of an ``x if c else
    y``)."""
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, (cst.Attribute, cst.Subscript)):
            expr = expr.value
        elif isinstance(expr, cst.IfExp):
            return _rooted(expr.body, roots) and _rooted(expr.orelse, roots)
        else:
            return isinstance(expr, cst.Name) and expr.value in roots


class _Body(cst.CSTVisitor):
    """Writes, returns, assignments and row-like uses of the parameters in a method body."""

    def __init__(self, params: set[str]) -> None:
        self.params = params
        self.writes: set[str] = set()
        self.returns: list[cst.BaseExpression] = []
        self.assigned: list[tuple[str, cst.BaseExpression]] = []
        self.used_as_row: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a nested function is judged where it is called

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        """``shop.pk if isinstance(shop, Shop) else shop``: the key of a row or of a key, which
        a row sent as its key gives alike (a key is never a model's instance)."""
        return _key_or_row(node, self.params) is None

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in WRITES:
            self.writes.add(node.func.attr.value)
        name = dotted(node.func)
        if name in self.params:
            self.used_as_row.add(name)
        if name in ("getattr", "hasattr", "setattr") and node.args:
            first = node.args[0].value
            if isinstance(first, cst.Name) and first.value in self.params:
                self.used_as_row.add(first.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in self.params:
            self.used_as_row.add(node.value.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.returns.append(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            if isinstance(t.target, cst.Name):
                self.assigned.append((t.target.value, node.value))


def _key_or_row(node: cst.IfExp, params: set[str]) -> str | None:
    """The parameter of ``p.pk if isinstance(p, M) else p`` (``.id`` alike), else None."""
    test, body, other = node.test, node.body, node.orelse
    if not (
        isinstance(test, cst.Call)
        and dotted(test.func) == "isinstance"
        and len(test.args) == 2
        and isinstance(other, cst.Name)
        and other.value in params
        and _is_name(test.args[0].value, other.value)
        and isinstance(body, cst.Attribute)
        and _is_name(body.value, other.value)
        and body.attr.value in ("pk", "id")
    ):
        return None
    return other.value


# -- a Django request handed to another service's function ------------------------------------
#: what ``runtime.encode`` sends of a Django request and the owner's ``HttpRequest`` has again
#: (``user`` is the owner's user row of the same key)
REQUEST_SENT = set(
    """
    user session META GET POST COOKIES method path path_info LANGUAGE_CODE get_host get_port
    is_secure scheme headers get_full_path build_absolute_uri content_type
    """.split()
)
#: calls that change a session: the owner's copy of it is not the caller's
SESSION_WRITES = set("pop setdefault update clear flush cycle_key set_expiry".split())
REQUEST_TYPES = {"HttpRequest", "WSGIRequest", "ASGIRequest"}
#: how deep a request is followed into the functions it is handed to
REQUEST_DEPTH = 8


def request_param(name: str, annotation: str | None) -> bool:
    """A parameter that holds a Django request: named ``request``, or typed as one."""
    if annotation is not None:
        return annotation.split(".")[-1] in REQUEST_TYPES
    return name == "request"


#: the verdict of a request parameter that crosses (``runtime.encode`` sends it)
REQUEST_REASON = "a Django request: sent as what the callee reads of it"


class RequestUses:
    """Why a function's request parameter cannot cross to its owner ('' when it can): the
    owner rebuilds the request from what the caller sends, so every use of the parameter,
    followed into the monolith's functions and methods it is handed to, must read only that,
    write nothing back but the function's own cache attributes (``request._x``), and never
    change the session."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self._seen: dict[tuple[str, int, str], str] = {}
        tree = classifier.tree
        self.django = any(
            imp.module.split(".")[0] == "django" for m in tree.files for imp in tree.info(m).imports
        )

    def params(self, func: FunctionInfo) -> set[str]:
        """``func``'s parameters that hold a Django request (Django code only)."""
        return {
            p.name
            for p in (func.params if self.django else [])
            if p.kind in ("pos", "kw", "posonly") and request_param(p.name, p.annotation)
        }

    def verdicts(self, module: str, func: FunctionInfo) -> dict[str, Verdict]:
        """Verdicts of ``func``'s request parameters (Django code only): one that crosses is
        sent, one that cannot says why."""
        out: dict[str, Verdict] = {}
        for name in sorted(self.params(func)):
            why = self.why(module, func.node, name)
            out[name] = (
                Verdict(True, REQUEST_REASON) if not why else Verdict(False, f"the request {why}")
            )
        return out

    def why(self, module: str, func: cst.FunctionDef, param: str, depth: int = 0) -> str:
        key = (module, id(func), param)
        if key not in self._seen:
            if depth > REQUEST_DEPTH:
                return "is handed on too deep to follow"
            self._seen[key] = ""  # a function that reaches itself again is judged once
            uses = _RequestBody(param)
            func.body.visit(uses)
            why = uses.why
            for callee, call, arg in uses.handed if not why else []:
                why = self._handed(module, callee, call, arg, depth)
                if why:
                    break
            self._seen[key] = why
        return self._seen[key]

    def _handed(self, module: str, callee: str, call: cst.Call, arg: cst.Arg, depth: int) -> str:
        """The request handed to ``callee(...)``: a function of the monolith, or every
        method of that name in its classes (``provider().get_shop(request)``)."""
        found = self.classifier.callee(callee, module)
        if found is not None:
            mod, name = found
            targets = [(mod, self.classifier.tree.info(mod).functions[name].node, False)]
        elif isinstance(call.func, cst.Attribute):
            targets = [(m, f, True) for m, f in self.classifier.methods_named(call.func.attr.value)]
        else:
            targets = []
        if not targets:
            return f"is handed to {callee or 'a call'}(), which the owner cannot be shown to run"
        for mod, func, bound in targets:
            param = _param_for(func, call, arg, bound)
            if param is None:
                return f"is handed to {callee}() as an argument it takes through *args/**kwargs"
            why = self.why(mod, func, param, depth + 1)
            if why:
                return why
        return ""


def _param_for(func: cst.FunctionDef, call: cst.Call, arg: cst.Arg, bound: bool) -> str | None:
    """The parameter of ``func`` that ``arg`` of ``call`` fills (``self``/``cls`` skipped for a
    method), None when only ``*args``/``**kwargs`` take it."""
    if arg.keyword is not None:
        names = [p.name.value for p in (*func.params.params, *func.params.kwonly_params)]
        return arg.keyword.value if arg.keyword.value in names else None
    static = any(dotted(d.decorator) == "staticmethod" for d in func.decorators)
    params = [*func.params.posonly_params, *func.params.params][1 if bound and not static else 0 :]
    index = [a for a in call.args if a.keyword is None].index(arg)
    return params[index].name.value if index < len(params) else None


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


class _RequestBody(cst.CSTVisitor):
    """Uses of a request parameter in one function body: a reason for the first one that
    cannot cross, and the calls it is handed to (to follow)."""

    def __init__(self, param: str) -> None:
        self.param = param
        self.why = ""
        self.handed: list[tuple[str, cst.Call, cst.Arg]] = []
        self._fine: set[int] = set()  # ids of Name nodes whose use was judged

    def _fail(self, why: str) -> None:
        self.why = self.why or why

    def _request_attr(self, expr: cst.BaseExpression) -> str | None:
        """``attr`` of ``request.attr`` (marking the use of the name judged)."""
        if isinstance(expr, cst.Attribute) and _is_name(expr.value, self.param):
            self._fine.add(id(expr.value))
            return expr.attr.value
        return None

    def _session(self, expr: cst.BaseExpression) -> bool:
        return self._request_attr(expr) == "session"

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._fine.add(id(node.attr))
        attr = self._request_attr(node)
        if attr is not None and attr not in REQUEST_SENT and not attr.startswith("_"):
            self._fail(f"reads request.{attr}, which is not sent with the call")

    def _target(self, target: cst.BaseExpression) -> None:
        """An assignment into the request: only its own private attributes (a cache) may be
        set; the session, or anything reached from the request, is the caller's."""
        attr = self._request_attr(target)
        if attr is not None:
            if not attr.startswith("_"):
                self._fail(f"sets request.{attr}, which the caller would not see")
            return
        chain = [target]
        while isinstance(chain[-1], (cst.Subscript, cst.Attribute)):
            chain.append(chain[-1].value)
        first = next((self._request_attr(n) for n in chain[1:] if self._request_attr(n)), None)
        if first == "session":
            self._fail("changes the caller's session")
        elif first is not None:
            self._fail(f"changes request.{first}, which the caller would not see")

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and self._session(func.value):
            if func.attr.value in SESSION_WRITES:
                self._fail("changes the caller's session")
        elif isinstance(func, cst.Attribute) and func.attr.value in WRITES:
            self._target(func)  # ``request.user.save()``: what hangs off the request changes
        name = dotted(func)
        for arg in node.args:
            if arg.keyword is not None:
                self._fine.add(id(arg.keyword))
            if not _is_name(arg.value, self.param):
                continue
            self._fine.add(id(arg.value))
            if name in ("getattr", "hasattr", "setattr") and arg is node.args[0]:
                attr = node.args[1].value if len(node.args) > 1 else None
                if not isinstance(attr, cst.SimpleString):
                    self._fail(f"{name}() of the request with a computed name")
                elif name == "setattr" and not str(attr.evaluated_value).startswith("_"):
                    self._fail(
                        f"sets request.{attr.evaluated_value!s}, which the caller would not see"
                    )
                elif name != "setattr" and not (
                    str(attr.evaluated_value) in REQUEST_SENT
                    or str(attr.evaluated_value).startswith("_")
                ):
                    self._fail(f"reads request.{attr.evaluated_value!s}, which is not sent")
            elif arg.star:
                self._fail(f"is handed to {name or 'a call'}() with *")
            else:
                self.handed.append((name, node, arg))

    def visit_Param(self, node: cst.Param) -> None:
        self._fine.add(id(node.name))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.param and id(node) not in self._fine:
            self._fail("is used as a whole (returned, stored or tested), not only read")


# -- a read model's queryset kept in a variable --------------------------------------------------
#: steps after which a read model's chain is still a queryset (``runtime.ReadQuery``), which a
#: variable may hold and refine; ``all()`` is not one: the read model answers it with a list
QUERYSET_STEPS = (FIELD_ARGS - {"values_list", "values"}) | {"filter", "exclude", "none"}
#: reads whose answer is one row (or None)
ROW_STEPS = {"get", "first"}


class QuerysetUses:
    """What ``func`` does with the read model's queryset its ``names`` hold (``qs =
    Model.objects.filter(...)``): ``why`` it is used for more than the read model's queryset
    does ('' when not), the calls whose answer is a row or a list of rows (``qs.first()``,
    ``qs.all()``) and the names that hold its rows (``for row in qs``), for the caller to judge
    as rows. A step refines it (``qs = qs.filter(...)``, another name bound to a refined
    chain holds it too); a plain answer (``values_list``, ``count``, ``exists``, ``aggregate``)
    is data; ``len(qs)`` and ``if qs`` count its rows. Anything else (returned, handed on,
    sliced) is more."""

    def __init__(self, func: cst.FunctionDef, call: cst.Call) -> None:
        self.why = ""
        #: the calls whose answer is a row or a list of rows, with the attribute read of it at
        #: once (or None)
        self.rows: list[tuple[cst.Call, str | None]] = []
        self.row_names: set[str] = set()
        self._parent: dict[int, cst.CSTNode] = {}
        stack: list[cst.CSTNode] = [func]
        while stack:
            node = stack.pop()
            for child in node.children:
                self._parent[id(child)] = node
                stack.append(child)
        above = self._parent.get(id(call))
        names = {
            t.target.value
            for t in (above.targets if isinstance(above, cst.Assign) else [])
            if isinstance(t.target, cst.Name)
        }
        #: the names that hold the queryset (none: ``call`` is not kept in a variable)
        self.names = set(names)
        todo = list(names)
        while todo and not self.why:
            todo += self._judge(func, todo.pop())

    def _up(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parent.get(id(node))

    def _judge(self, func: cst.FunctionDef, name: str) -> list[str]:
        """Judge every use of ``name``; the new names that hold the queryset too."""
        more: list[str] = []
        uses: list[cst.Name] = []

        class _Find(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                if node.value == name:
                    uses.append(node)

        func.body.visit(_Find())
        for node in uses:
            above = self._up(node)
            if (isinstance(above, cst.Attribute) and above.attr is node) or (
                isinstance(above, cst.Arg) and above.keyword is node
            ):
                continue  # another thing's attribute, a keyword
            if isinstance(above, cst.AssignTarget):
                continue  # what it is bound to is judged where that is made
            why = self._use(node, more)
            if why:
                self.why = why
                return []
        return more

    def _use(self, node: cst.Name, more: list[str]) -> str:
        """Why this use of the queryset is more than a read ('' when it is not)."""
        current: cst.CSTNode = node
        last = ""
        while True:
            attr = self._up(current)
            call = self._up(attr) if isinstance(attr, cst.Attribute) else None
            if not (
                isinstance(attr, cst.Attribute)
                and attr.value is current
                and isinstance(call, cst.Call)
                and call.func is attr
            ):
                break
            last = attr.attr.value
            if last not in QUERYSET_STEPS | ROW_STEPS | PLAIN | {"all"}:
                return f"calls .{last}() of the queryset"
            if not step_sendable(last, call) or last in WRITE_STEPS:
                return f"calls .{last}() with what a read model cannot send"
            current = call
            if last not in QUERYSET_STEPS:
                break
        above = self._up(current)
        if last in PLAIN:
            return ""
        if last in ROW_STEPS or last == "all":
            read = above.attr.value if isinstance(above, cst.Attribute) else None
            self.rows.append((current, read))  # type: ignore[arg-type]
            return ""
        if isinstance(above, (cst.For, cst.CompFor)) and above.iter is current:
            if isinstance(above.target, cst.Name):
                self.row_names.add(above.target.value)
                return ""
            return "unpacks the rows of the queryset"
        if isinstance(above, cst.If) and above.test is current:
            return ""
        if isinstance(above, cst.Arg) and dotted(self._up(above).func) in ("len", "bool"):  # type: ignore[union-attr]
            return ""
        if isinstance(above, cst.Assign) and len(above.targets) == 1:
            target = above.targets[0].target
            if isinstance(target, cst.Name):
                if target.value not in self.names:
                    self.names.add(target.value)
                    more.append(target.value)
                return ""
        return "uses the queryset for more than reading it"


# -- foreign keys of a copy ----------------------------------------------------------------------
def foreign_keys(node: cst.ClassDef) -> dict[str, tuple[str, str, str]]:
    """A Django model class's ``ForeignKey``/``OneToOneField`` fields as relationships a
    read-only copy reads from the target's owner by its key column (``data.Relation``:
    target class name, ``<name>_id``, "one"): ``product = models.ForeignKey("app.Product")``
    or ``ForeignKey(to=Product)``."""
    out: dict[str, tuple[str, str, str]] = {}
    for stmt in getattr(node.body, "body", []):
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else []:
            if not (
                isinstance(small, cst.Assign)
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.Call)
                and dotted(small.value.func).split(".")[-1] in ("ForeignKey", "OneToOneField")
            ):
                continue
            args = small.value.args
            to = next((a.value for a in args if a.keyword and a.keyword.value == "to"), None)
            if to is None and args and args[0].keyword is None:
                to = args[0].value
            name = (
                (str(to.evaluated_value) if isinstance(to, cst.SimpleString) else dotted(to))
                if to is not None
                else ""
            )
            target = name.rpartition(".")[2]
            if target and target != "self":
                field = small.targets[0].target.value
                out[field] = (target, f"{field}_id", "one")
    return out
