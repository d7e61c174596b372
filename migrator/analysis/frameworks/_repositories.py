"""Generic repositories: one class of data access, bound to a model when it is constructed.

The SQLAlchemy plug-in sees a repository class through ``_own_row_methods`` (its methods read
and write the rows of ``self.model``). This module finds where repositories are bound to a
model and where they are used, so that ``repos.recipes.create(...)`` is a write of the
recipes table:

* **bindings**: ``users = UserRepository(session, User)`` at module level,
  ``@property``/``@cached_property def recipes(self): return RecipeRepo(self.session, ...,
  Recipe, ...)`` or ``self.recipes = RecipeRepo(...)`` in a class, and ``repo = Repo(...)`` in a
  function; the model is the constructor's argument for the parameter ``__init__`` stores in
  the model attribute (``self.model = sql_model``), by keyword or by position, or a class
  attribute of the repository's own (``class UserRepo(Base): model = User``);
* **aliases**: a property or ``self.x = ...`` naming another binding (``def repo(self):
  return self.repos.recipes``), and **wrappers** handed one (``HttpRepo(self.repo, logger)``,
  whose ``create_one`` calls ``self.repo.create``: a write);
* **uses**: ``<receiver>.<method>(...)``, where the receiver is such a binding: a module-level
  name (followed through imports), ``self.<attribute>`` of the class or its bases, or any
  chain ending in the name of an attribute bound to one model only (``self.repos.recipes``,
  ``db.users``, ``crud.user``). The method's own reads and writes decide what the use is.

Only the facts are gathered in the worker (``collect``); ``resolve`` runs in the parent half of
the SQLAlchemy plug-in, which knows the models and the classes' row methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict, cast

from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst

_PROPERTIES = ("property", "cached_property")


class RepoCall(TypedDict, total=False):
    """A constructor call as written: ``call(args..., **kw)``, arguments as dotted names."""

    call: str
    args: list[str]  # "" for an argument that is no name
    kw: dict[str, str]


class RepoBinding(TypedDict, total=False):
    """``name`` bound to what ``new`` constructs, or (an alias) to the binding ``of`` names;
    ``cls``: the class whose attribute it is ("" at module level)."""

    name: str
    cls: str
    new: RepoCall
    of: str


class RepoUse(TypedDict, total=False):
    """A method called on a receiver: a dotted name (``recv``) or a local binding (``new``)."""

    recv: str
    new: RepoCall
    via: str
    cls: str
    line: int


class RepoFacts(TypedDict):
    bindings: list[RepoBinding]
    uses: list[RepoUse]


def _new(value: cst.CSTNode | None) -> RepoCall | None:
    """A call of a class (``Repo(session, Model)``, ``Repo[Schema](...)``) with names as
    arguments, or None."""
    if type(value) is not cst.Call:
        return None
    func = value.func.value if type(value.func) is cst.Subscript else value.func
    called = u.dotted(func)
    if not u.capital(called):
        return None
    args: list[str] = []
    kw: dict[str, str] = {}
    for a in value.args:
        if a.star:
            break
        name = u.dotted(a.value) or ""
        if a.keyword is not None:
            if name:
                kw[a.keyword.value] = name
        else:
            args.append(name)
    if not any(args) and not kw:
        return None
    found: RepoCall = {"call": called or "", "args": args}
    if kw:
        found["kw"] = dict(sorted(kw.items()))
    return found


def _chain(value: cst.CSTNode | None) -> str | None:
    """``self.repos.recipes``: a dotted name of two or more parts."""
    name = u.dotted(value) if value is not None else None
    return name if name and "." in name else None


def collect(tree: cst.Module, ctx: Any, lines: u.Lines) -> RepoFacts | None:
    """The bindings and uses of one module (see the module docstring)."""
    bindings: list[RepoBinding] = []
    method_class: dict[int, str] = {}  # a method's node -> its class
    for stmt in tree.body:
        if type(stmt) is cst.ClassDef:
            for item in stmt.body.body:
                if type(item) is cst.FunctionDef:
                    method_class[id(item)] = stmt.name.value
                    decorators = {u.last(u.decorator_call(d)[0]) for d in item.decorators}
                    if decorators & set(_PROPERTIES):
                        _property(item, stmt.name.value, bindings)
        for small in u.small_statements([stmt]):
            names, value = u.assign_targets(small)
            new = _new(value)
            bindings.extend({"name": n, "cls": "", "new": new} for n in names if new)
    local: dict[tuple[int, str], RepoCall] = {}
    uses: list[tuple[cst.CSTNode, RepoUse]] = []
    for node, scope in u.walk(tree, ctx=ctx):
        tp = type(node)
        if tp is cst.Assign or tp is cst.AnnAssign:
            if scope is None:
                continue
            cls = method_class.get(id(scope), "")
            if tp is cst.Assign:
                assign = cast(cst.Assign, node)
                targets = [t.target for t in assign.targets]
                value = assign.value
            else:
                annotated = cast(cst.AnnAssign, node)
                targets, value = [annotated.target], annotated.value
            new, alias = _new(value), _chain(value)
            for t in targets:
                if type(t) is cst.Name and new:
                    local[(id(scope), t.value)] = new
                elif cls and type(t) is cst.Attribute and u.dotted(t.value) == "self":
                    name = t.attr.value
                    if new:
                        bindings.append({"name": name, "cls": cls, "new": new})
                    elif alias:
                        bindings.append({"name": name, "cls": cls, "of": alias})
        elif tp is cst.Call and type(cast(cst.Call, node).func) is cst.Attribute:
            func = cast(cst.Attribute, cast(cst.Call, node).func)
            use: RepoUse = {"via": func.attr.value}
            recv = u.dotted(func.value)
            if recv is None:
                new = _new(func.value)  # Repo(session, Model).create(...)
                if new is None:
                    continue
                use["new"] = new
            elif recv in ("self", "cls") or u.capital(recv.rsplit(".", 1)[-1]):
                continue
            elif "." not in recv and (id(scope), recv) in local:
                use["new"] = local[(id(scope), recv)]
            else:
                use["recv"] = recv
                cls = method_class.get(id(scope), "") if scope is not None else ""
                if cls and recv.startswith("self."):
                    use["cls"] = cls
            uses.append((lines.want(node), use))
    if not bindings and not uses:
        return None
    for n, use in uses:
        use["line"] = lines.of(n)
    out = sorted((use for _, use in uses), key=lambda x: (x["line"], x["via"], x.get("recv", "")))
    return {"bindings": bindings, "uses": out}


def _property(func: cst.FunctionDef, cls: str, bindings: list[RepoBinding]) -> None:
    """``@property def recipes(self): return Repo(...)`` or ``return self.repos.recipes``."""
    returned = [s.value for s in u.small_statements(func.body) if type(s) is cst.Return and s.value]
    if len(returned) != 1:
        return
    name = func.name.value
    new, alias = _new(returned[0]), _chain(returned[0])
    if new:
        bindings.append({"name": name, "cls": cls, "new": new})
    elif alias:
        bindings.append({"name": name, "cls": cls, "of": alias})


def resolve(
    items: list[tuple[str, Any, Any]],
    facts: dict[str, Any],
    resolver: Any,
    classes: dict[str, tuple[str, Any]],
    bases: Callable[[str], list[str]],
    models: set[str] | dict[str, Any],
    row_ops: Callable[[str], dict[str, str]],
    record: Callable[[str, int, str, str], None],
) -> None:
    """Settle every use of a repository bound to a model: ``record(module, line, model node,
    "read" | "write")``. ``items`` are (module, ModuleFacts, plug-in facts) with ``bindings``
    and ``uses``; ``classes`` maps a class node to (module, SaClass); ``bases`` gives a class
    and its bases, nearest first; ``row_ops`` gives a class's methods that read or write its
    (bound) model's rows."""
    Bound = tuple[tuple[tuple[str, str], ...], str]  # (method -> op, sorted), model node

    def first(chain: list[str], key: str) -> Any:
        return next((classes[c][1][key] for c in chain if key in classes[c][1]), None)

    def argument(new: RepoCall, chain: list[str], param: str) -> str | None:
        """What ``new`` hands to ``__init__``'s ``param``: by keyword, else by position."""
        given = new.get("kw", {}).get(param)
        if given is None:
            init = first(chain, "init") or []
            at = init.index(param) if param in init else -1
            given = new["args"][at] if 0 <= at < len(new["args"]) else None
        return given or None

    def bound(m: str, new: RepoCall, cls: str) -> Bound | None:
        """What ``new`` (in module ``m``, in a method of class node ``cls`` or "") constructs:
        a repository bound to a model, or a wrapper of one."""
        repo = u.resolve_name(resolver, facts, m, new["call"])
        if repo not in classes:
            return None
        chain = bases(repo)

        def to(model: str) -> Bound:
            """The repository's methods and what they do to ``model``'s rows: through
            ``self.model``, or naming it (``db.query(User)`` in ``CRUDUser.get_by_email``)."""
            ops = dict(row_ops(repo))
            for c in chain:
                cm, info = classes[c]
                for name, methods in info.get("named_reads", {}).items():
                    if u.resolve_name(resolver, facts, cm, name) == model:
                        for method in methods:
                            ops.setdefault(method, "read")
            return tuple(sorted(ops.items())), model

        attrs = {a for c in chain for a in classes[c][1].get("model_attrs", ())}
        for c in chain:  # class UserRepo(Base): model = User
            cm, info = classes[c]
            for attr, value in info.get("attrs", {}).items():
                if attr in attrs:
                    model = u.resolve_name(resolver, facts, cm, value)
                    if model is not None and model in models:
                        return to(model)
        slot = first(chain, "slot")
        if slot is not None:
            written = argument(new, chain, slot[1])
            model = u.resolve_name(resolver, facts, m, written) if written else None
            return to(model) if model is not None and model in models else None
        holds, wraps = first(chain, "holds"), first(chain, "wraps")
        for attr, param in (holds or {}).items():  # HttpRepo(self.repo, logger)
            given = argument(new, chain, param)
            inner = receiver(m, given, cls) if given else None
            if inner is None:
                continue
            inner_ops = dict(inner[0])
            wrapped = {}
            for method, calls in wraps.items():
                done = {
                    inner_ops.get(c[len(attr) + 1 :]) for c in calls if c.startswith(attr + ".")
                }
                op = "write" if "write" in done else "read" if "read" in done else None
                if op:
                    wrapped[method] = op
            return tuple(sorted(wrapped.items())), inner[1]
        return None

    by_var: dict[str, Bound] = {}  # module-level variable node -> what it is bound to
    by_attr: dict[tuple[str, str], Bound] = {}  # (class node, attribute) -> ...
    by_name: dict[str, set[Bound]] = {}  # attribute name -> every binding of it

    def named(name: str) -> Bound | None:
        """The binding of an attribute name, when every binding of it is of one model."""
        found = by_name.get(name, set())
        return min(found) if len({model for _, model in found}) == 1 else None

    def of_class(cls: str, name: str) -> Bound | None:
        for c in bases(cls) or [cls]:
            if (c, name) in by_attr:
                return by_attr[(c, name)]
        return None

    def receiver(m: str, recv: str, cls: str) -> Bound | None:
        """What a receiver (``self.repo``, ``crud.user``, ``self.repos.recipes``) is bound to."""
        parts = recv.split(".")
        found = of_class(cls, parts[1]) if cls and len(parts) == 2 and parts[0] == "self" else None
        if found is None and parts[0] != "self":
            found = by_var.get(u.resolve_name(resolver, facts, m, recv) or "")
        if found is None and len(parts) > (2 if parts[0] == "self" else 1):
            found = named(parts[-1])  # not ``self.repo``: a wrapper's own, unbound, attribute
        return found

    # bindings may name others (an alias, a wrapper of an alias): settle them to a fixpoint
    todo = [(m, b) for m, _, data in items for b in data.get("bindings", ())]
    while todo:
        left = []
        for m, b in todo:
            cls = f"{m}:{b['cls']}" if b["cls"] else ""
            found = receiver(m, b["of"], cls) if "of" in b else bound(m, b["new"], cls)
            if found is None:
                left.append((m, b))
                continue
            if cls:
                by_attr[(cls, b["name"])] = found
            else:
                by_var[f"{m}:{b['name']}"] = found
            by_name.setdefault(b["name"], set()).add(found)
        if len(left) == len(todo):
            break
        todo = left

    for m, _, data in items:
        for use in data.get("uses", ()):
            cls = f"{m}:{use['cls']}" if use.get("cls") else ""
            found = bound(m, use["new"], cls) if "new" in use else receiver(m, use["recv"], cls)
            if found is None:
                continue
            op = dict(found[0]).get(use["via"])
            if op:
                record(m, use["line"], found[1], op)
