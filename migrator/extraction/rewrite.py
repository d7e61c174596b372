"""Find what a service's code takes from other services, decide per call whether it can become
an HTTP call, and rewrite the imports accordingly (libcst codemods that keep formatting).

Every name that a module of service S imports from code S does not have is one of:

* an interface function of service T whose arguments and result can cross a network: the
  import now comes from a generated client module with the same names and signatures;
* an exception class, dataclass or enum of T: copied into the client module;
* anything else (an ORM model, a function outside T's interface, one whose arguments are ORM
  objects or sessions): it also comes from the client module, as an ``Unavailable`` stand-in that
  lets the service boot and fails loudly when used; each use is listed in MIGRATION.md.

Kernel modules cannot be rewritten per service (one library serves all), so their imports of
service code are guarded with ``try/except ImportError`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from migrator.extraction import constructs, djangoreads, joins, properties, queries, writes
from migrator.extraction.convert import INJECTED_NAMES, OK, Classifier, Verdict, suggest_dto
from migrator.extraction.copies import copy_closure
from migrator.extraction.data import (
    backrefs,
    declared_attrs,
    relations,
    reverse_keys,
    secondary_relations,
)
from migrator.extraction.layout import KERNEL, Layout
from migrator.extraction.mappings import MAPPING_REASON
from migrator.extraction.mover import dotted, names_in
from migrator.extraction.ownreads import OWNER_READ, OWNER_READ_ROW
from migrator.extraction.source import FunctionInfo, ImportInfo, SourceTree
from migrator.plan import Plan


@dataclass
class Ref:
    """One name that service ``service``'s module ``module`` takes from another service."""

    service: str
    module: str
    binding: str  # local name (or module alias)
    target_module: str
    target_name: str | None  # None: a whole module imported under ``binding``
    owner: str | None
    line: int


@dataclass
class CallSite:
    caller: str  # service
    file: str  # path relative to the source root
    line: int
    callee: str  # module:function
    target: str  # service
    converted: bool
    reason: str = ""
    suggestion: str = ""


@dataclass
class Entry:
    """What a client module provides under one name."""

    name: str
    kind: str  # "function" | "effect" | "class" | "value" | "copy" | "read-model" | "unavailable"
    reason: str = ""
    model: str | None = None
    idempotent: bool = False
    target: str = ""  # module:name it stands for (a re-export resolves to another module)
    injected: tuple[str, ...] = ()  # session parameters the owner supplies (never sent)
    #: a read model's class methods that only read (method -> read), see read_helpers
    helpers: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # a read model's columns (``Model.col`` in its conditions)
    copies: tuple[str, ...] = ()  # a copy's other definitions of its module (copies.py)


@dataclass
class Client:
    service: str  # the caller
    target: str  # the owning service
    target_module: str
    module_name: str  # python module under interservice/
    entries: dict[str, Entry] = field(default_factory=dict)
    #: model name -> relationship -> (target model name, owner, key column, many): what the
    #: read-only copies of rows this client gives may read from the target's owner
    relations: dict[str, dict[str, tuple[str, str, str, str]]] = field(default_factory=dict)


@dataclass
class ServiceRefs:
    refs: list[Ref] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    clients: dict[str, Client] = field(default_factory=dict)  # target_module -> client
    uses: list[tuple[str, int, str, str]] = field(default_factory=list)  # (file, line, node, owner)
    #: uses that are only reads a generated read model answers: (file, line, node)
    reads: set[tuple[str, int, str]] = field(default_factory=set)
    #: uses that are only type hints of a name a read model stands in for: (file, line, node)
    hints: set[tuple[str, int, str]] = field(default_factory=set)
    #: uses that are a Django class's ``model = Other`` (a ModelForm's Meta, a generic view)
    model_classes: set[tuple[str, int, str]] = field(default_factory=set)
    #: why a read of another service's model is not sent by its read model: (file, line, node)
    why: dict[tuple[str, int, str], str] = field(default_factory=dict)


#: a class method called on an imported name: (method, shape of the arguments, the call, the
#: attribute read of its result at once)
Method = tuple[str, str, cst.Call, "str | None"]
#: a model class handed to a function: the call, the argument's position or keyword, and the
#: attribute of the result read at once (``_Uses._handed``)
Handed = tuple[cst.Call, "int | str", "str | None"]

#: decorators of functions whose signature a web framework reads (FastAPI routes)
ROUTE_VERBS = set("get post put patch delete head options route api_route websocket".split())

#: why a query kept in a variable is not sent
VARIABLE = (
    "the query is kept in a variable that is handed to other code or used for more than "
    "refining and reading it"
)

#: ``Model.query`` / ``Model.objects`` methods a generated read model answers
READ_CHAIN = {"filter_by", "filter", *queries.READS}


class _Uses(cst.CSTVisitor):
    """Calls and attribute uses of given bindings, with positions."""

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def __init__(
        self,
        names: set[str],
        models: set[str] = frozenset(),  # type: ignore[assignment]
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.names = names
        self.models = models  # the bindings of ORM models (a column of one is a join)
        #: names bound only to ``aliased(Model)`` (joins.aliases): the model's use in that
        #: call is judged with the join chains the alias is in (``_alias_uses``)
        self.aliases = aliases or {}
        #: by outermost function (0: the module): alias, model, line
        self._alias_defs: list[tuple[int, str, str, int]] = []
        self._alias_chains: dict[tuple[int, str], list[int]] = {}  # (function, alias) -> chains
        self._alias_in_join: set[int] = set()  # ids of alias names inside a join chain
        self._alias_loose: set[tuple[int, str]] = set()  # aliases named outside a join chain
        #: ids of model names inside the conditions of a read chain the owner answers
        self._served: set[int] = set()
        self.calls: list[tuple[str, str | None, int, cst.Call]] = []  # binding, attr, line, node
        self.dropped: set[int] = set()  # ids of those calls whose result nothing uses
        self.attrs: dict[str, set[str]] = {}
        self.lines: dict[str, list[int]] = {}
        self.reads: dict[str, set[int]] = {}  # lines where the name heads a read-model query
        self.others: dict[str, set[int]] = {}  # lines where it is used any other way
        #: lines where it is only handed to functions (``handed``)
        self.handed_only: dict[str, set[int]] = {}
        #: lines where it is only a type hint nothing evaluates for its meaning (see _hint)
        self.hints: dict[str, set[int]] = {}
        #: lines where it is a class's ``model = <it>`` (Django builds the class from it)
        self.model_classes: dict[str, set[int]] = {}
        #: lines where a class method of it is called: (method, arguments' shape, the call,
        #: the attribute read of its result at once or None)
        self.methods: dict[str, dict[int, list[Method]]] = {}
        #: the last call of each read chain: (its method, "", the call, attribute read at once)
        self.read_ends: dict[str, dict[int, list[queries.End]]] = {}
        #: lines where a Django read chain calls a method of the model's own manager (its
        #: name and the call)
        self.custom: dict[str, dict[int, list[tuple[str, cst.Call]]]] = {}
        #: why a read chain is not sent, by the lines of its expression (see _read_chain)
        self.why: dict[int, str] = {}
        #: (binding, line) -> the construct of a use no read model serves (constructs.describe)
        self.constructs: dict[tuple[str, int], str] = {}
        #: lines where the name is an argument of a call (binding -> line -> the call and
        #: the argument's position or keyword): a function that only reads the class it is
        #: given may get the read model (``Analyzer._handed_reads``)
        self.handed: dict[str, dict[int, list[Handed]]] = {}
        #: query chains with a join (joins.joins_something), and the lines where a name is
        #: in one of them: judged per service (Analyzer._joined)
        self.join_chains: list[cst.Call] = []
        self.join_after: list[str | None] = []  # the attribute read of each chain's result
        #: the reads (and the model's names in the refinements) of the variable a chain is
        #: kept in, where only refined and read (joins.variable)
        self.join_vars: list[tuple[list[queries.End], list[cst.Name]] | None] = []
        self.joined: dict[str, dict[int, list[int]]] = {}
        self._in_join: dict[int, int] = {}  # id of a name node -> its chain's index
        self._scopes: list[str] = []  # "class" | "function" | "route", innermost last
        self._funcs: list[cst.FunctionDef] = []  # the enclosing functions, innermost last

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scopes.append("class")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        routed = any(
            dotted(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
            .rpartition(".")[2]
            .lower()
            in ROUTE_VERBS
            for d in node.decorators
        )
        self._scopes.append("route" if routed else "function")
        self._funcs.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()
        self._funcs.pop()
        if not self._funcs:
            self._alias_uses(id(original_node))

    def leave_Module(self, original_node: cst.Module) -> None:
        self._alias_uses(0)

    def _alias_uses(self, scope: int) -> None:
        """The model's use in each ``Alias = aliased(Model)`` of a scope (an outermost
        function): in the join chains of the scope that name the alias (converted when they
        are composed), else used some other way (an alias named outside join chains, or in
        none)."""
        for func, alias, model, line in self._alias_defs:
            chains = self._alias_chains.get((func, alias))
            if func != scope:
                continue
            if chains and (func, alias) not in self._alias_loose:
                self.joined.setdefault(model, {}).setdefault(line, []).extend(chains)
                continue
            self.others.setdefault(model, set()).add(line)
            self.why.setdefault(
                line,
                f"the alias {alias} of {model} is used outside the query chains with joins "
                "(only an alias named in joins composed from key reads is read from the owner)",
            )

    def visit_Call(self, node: cst.Call) -> None:
        f = node.func
        line = self.get_metadata(PositionProvider, node).start.line
        above = self.get_metadata(ParentNodeProvider, node, None)
        if not (isinstance(above, cst.Attribute) and above.value is node and self._called(above)):
            if joins.joins_something(node):
                index = len(self.join_chains)
                self.join_chains.append(node)
                read = isinstance(above, cst.Attribute) and above.value is node
                self.join_after.append(above.attr.value if read else None)  # type: ignore[union-attr]
                kept = joins.variable(
                    node,
                    self._funcs[-1] if self._funcs else None,
                    self.models,
                    lambda n: self.get_metadata(ParentNodeProvider, n, None),
                )
                self.join_vars.append(kept)
                for name in kept[1] if kept else []:  # refinements: judged with the chain
                    self._in_join.setdefault(id(name), index)
                for name in joins.chain_names(node):
                    if name.value in self.names:
                        self._in_join.setdefault(id(name), index)
                    elif name.value in self.aliases:
                        self._alias_in_join.add(id(name))
                        key = (self._scope(), name.value)
                        self._alias_chains.setdefault(key, []).append(index)
        if isinstance(f, cst.Name) and f.value in self.names:
            self.calls.append((f.value, None, line, node))
        elif (
            isinstance(f, cst.Attribute)
            and isinstance(f.value, cst.Name)
            and f.value.value in self.names
        ):
            self.calls.append((f.value.value, f.attr.value, line, node))
        else:
            return
        if isinstance(above, cst.Await):  # ``await f(...)`` as a statement drops it too
            above = self.get_metadata(ParentNodeProvider, above, None)
        if isinstance(above, cst.Expr):
            self.dropped.add(id(node))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in self.names:
            self.attrs.setdefault(node.value.value, set()).add(node.attr.value)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.aliases and id(node) not in self._alias_in_join:
            if not isinstance(self.get_metadata(ParentNodeProvider, node), cst.AssignTarget):
                self._alias_loose.add((self._scope(), node.value))
        if node.value in self.names:
            parent = self.get_metadata(ParentNodeProvider, node)
            if isinstance(parent, (cst.ImportAlias, cst.AsName, cst.Param)):
                return
            line = self.get_metadata(PositionProvider, node).start.line
            self.lines.setdefault(node.value, []).append(line)
            alias = self._alias_def(node)
            if alias is not None:
                self._alias_defs.append((self._scope(), alias, node.value, line))
                return
            parent_stmt = self.get_metadata(ParentNodeProvider, node)
            if djangoreads.model_of_class(parent_stmt, node, self._scopes):
                self.model_classes.setdefault(node.value, set()).add(line)
            method = self._method_call(node) or self._condition_of(node)
            if method is not None:
                self.methods.setdefault(node.value, {}).setdefault(line, []).append(method)
                return
            if id(node) in self._in_join:
                chains = self.joined.setdefault(node.value, {}).setdefault(line, [])
                chains.append(self._in_join[id(node)])
                return
            kind = (
                self.reads
                if id(node) in self._served
                or self._created(node)
                or self._read_chain(node)
                or self._type_check(node)
                or self._model_error(node)
                else self.hints
                if self._hint(node)
                else self.others
            )
            handed = self._handed(node) if kind is self.others else None
            if handed is not None:
                self.handed.setdefault(node.value, {}).setdefault(line, []).append(handed)
                kind = self.handed_only
            kind.setdefault(node.value, set()).add(line)
            if (kind is self.others or kind is self.handed_only) and (
                node.value,
                line,
            ) not in self.constructs:
                self.constructs[(node.value, line)] = constructs.describe(
                    node,
                    lambda n: self.get_metadata(ParentNodeProvider, n, None),
                    self._funcs[-1].name.value if self._funcs else None,
                )

    def _handed(self, node: cst.Name) -> Handed | None:
        """``f(node, ...)`` / ``f(x, model=node)``: the call, where the argument is, and the
        attribute of the call's result read at once (``f(...).name``; ``.m()`` with its
        parentheses)."""
        arg = self.get_metadata(ParentNodeProvider, node)
        call = self.get_metadata(ParentNodeProvider, arg, None)
        if not (isinstance(arg, cst.Arg) and isinstance(call, cst.Call)) or arg.star:
            return None
        where: int | str = (
            arg.keyword.value
            if arg.keyword is not None
            else [a for a in call.args if a.keyword is None].index(arg)
        )
        above = self.get_metadata(ParentNodeProvider, call, None)
        after = None
        if isinstance(above, cst.Attribute) and above.value is call:
            after = above.attr.value + ("()" if self._called(above) else "")
        return call, where, after

    def _scope(self) -> int:
        """The outermost function being visited (0: the module)."""
        return id(self._funcs[0]) if self._funcs else 0

    def _alias_def(self, node: cst.Name) -> str | None:
        """The alias ``node`` is the model of, in ``Alias = aliased(node, ...)``."""
        arg = self.get_metadata(ParentNodeProvider, node)
        call = self.get_metadata(ParentNodeProvider, arg, None)
        assign = self.get_metadata(ParentNodeProvider, call, None) if call else None
        if not (
            isinstance(assign, cst.Assign)
            and assign.value is call
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and joins.alias_of(call, self.models) == node.value
        ):
            return None
        alias = assign.targets[0].target.value
        return alias if self.aliases.get(alias) == node.value else None

    def _created(self, node: cst.Name) -> bool:
        """``Model(col=value)`` that the enclosing function adds to a session: the owner
        creates it (writes.created); its row is judged like a read's (``read_ends``)."""
        call = self.get_metadata(ParentNodeProvider, node)
        if not (isinstance(call, cst.Call) and call.func is node and self._funcs):
            return False
        above = self.get_metadata(ParentNodeProvider, call)
        if isinstance(above, cst.Arg):
            add = self.get_metadata(ParentNodeProvider, above)
            if not (isinstance(add, cst.Call) and writes.add_argument(add)):
                return False
        if not writes.created(call, above, writes.added_names(self._funcs[-1])):
            return False
        line = self.get_metadata(PositionProvider, node).start.line
        self.read_ends.setdefault(node.value, {}).setdefault(line, []).append(
            ("create", "", call, None)
        )
        return True

    def _query_variable(
        self, assign: cst.CSTNode | None, binding: str
    ) -> tuple[list[queries.End], list[cst.Name]] | None:
        """``assign`` binds a read query of ``binding`` to a variable of the enclosing
        function that holds only that query (queries.query_variable)."""
        return queries.kept_in(
            assign,
            self._funcs[-1] if self._funcs else None,
            binding,
            self.models,
            READ_CHAIN | queries.SHAPING | writes.CHAIN_WRITES,
            lambda n: self.get_metadata(ParentNodeProvider, n, None),
        )

    def _method_call(self, node: cst.Name) -> Method | None:
        """``Name.method(...)``: (method, "key" | "filters" | "none" | "other", the call, the
        attribute read of its result at once)."""
        attr = self.get_metadata(ParentNodeProvider, node)
        if not (isinstance(attr, cst.Attribute) and attr.value is node):
            return None
        call = self.get_metadata(ParentNodeProvider, attr)
        if not (isinstance(call, cst.Call) and call.func is attr):
            return None
        args = call.args
        positional = [a.value for a in args if a.keyword is None and a.star != "**"]
        shape = (
            "other"
            if any(a.star == "*" for a in args)
            else "none"
            if not args
            else "filters"  # keywords, or a mapping of them (``**lookup``)
            if not positional
            else "where"  # column conditions the read model sends, and keywords
            if all(queries.condition(p, node.value, self.models) for p in positional)
            else "key"
            if len(args) == 1
            else "other"
        )
        after = self.get_metadata(ParentNodeProvider, call)
        read = (
            after.attr.value if isinstance(after, cst.Attribute) and after.value is call else None
        )
        return attr.attr.value, shape, call, read

    def _condition_of(self, node: cst.Name) -> Method | None:
        """``Model.get_by(Model.col == x)``: ``node`` is the model in a column condition given
        to a class method of the same model, judged with that method (its call's Method)."""
        above = self._enclosing_within(node, cst.Arg, (cst.BaseStatement, cst.BaseSmallStatement))
        if not isinstance(above, cst.Arg):
            return None
        call = self.get_metadata(ParentNodeProvider, above)
        if not (
            isinstance(call, cst.Call)
            and above.keyword is None
            and not above.star
            and isinstance(call.func, cst.Attribute)
            and isinstance(call.func.value, cst.Name)
            and call.func.value.value == node.value
            and queries.condition(above.value, node.value, self.models) is not None
        ):
            return None
        return self._method_call(call.func.value)

    def _type_check(self, node: cst.Name) -> bool:
        """``isinstance(x, Model)`` (or a tuple of classes there): a read model answers it
        for the rows it gave (``ReadModel.__instancecheck__``)."""
        parent: cst.CSTNode | None = self.get_metadata(ParentNodeProvider, node)
        if isinstance(parent, cst.Element):  # one of a tuple of classes
            group = self.get_metadata(ParentNodeProvider, parent)
            parent = (
                self.get_metadata(ParentNodeProvider, group)
                if isinstance(group, cst.Tuple)
                else None
            )
        call = self.get_metadata(ParentNodeProvider, parent) if parent else None
        return (
            isinstance(parent, cst.Arg)
            and isinstance(call, cst.Call)
            and dotted(call.func) == "isinstance"
            and len(call.args) == 2
            and call.args[1] is parent
        )

    def _model_error(self, node: cst.Name) -> bool:
        """``Model.DoesNotExist``: the read model raises its own for a missing row."""
        parent = self.get_metadata(ParentNodeProvider, node)
        return (
            isinstance(parent, cst.Attribute)
            and parent.value is node
            and parent.attr.value in djangoreads.EXCEPTIONS
        )

    def _hint(self, node: cst.Name) -> bool:
        """``node`` is inside the annotation of a parameter or result of a function that no
        framework inspects (not a route), or of a local variable: Python only stores it, so
        the read model standing in for the class serves it as well. Annotations of class
        attributes are not hints (SQLAlchemy's ``Mapped[...]``, pydantic and dataclass fields
        give them meaning)."""
        annotation = self._enclosing_within(node, cst.Annotation, (cst.BaseStatement, cst.Lambda))
        if annotation is None:
            return False
        holder = self.get_metadata(ParentNodeProvider, annotation)
        scope = self._scopes[-1] if self._scopes else "module"
        if isinstance(holder, cst.AnnAssign):
            return scope in ("function", "route")  # a local's: never evaluated
        return isinstance(holder, (cst.Param, cst.FunctionDef)) and scope == "function"

    def _enclosing_within(
        self, node: cst.CSTNode, kind: type[cst.CSTNode], stop: tuple[type[cst.CSTNode], ...]
    ) -> cst.CSTNode | None:
        """The nearest ancestor of ``node`` of type ``kind``, unless a ``stop`` node (or the
        top of the tree) comes first."""
        current: cst.CSTNode = node
        while True:
            above = self.get_metadata(ParentNodeProvider, current, None)
            if above is None or isinstance(above, stop):
                return None
            if isinstance(above, kind):
                return above
            current = above

    def _read_chain(self, node: cst.Name) -> bool:
        """``Model.query.filter_by(k=v).first()``, ``Model.objects.get(pk=1)``,
        ``session.query(Model).filter(Model.col == x).all()`` and the like: conditions (or
        Django's queryset steps) and a read a read model answers, nothing else."""
        parent = self.get_metadata(ParentNodeProvider, node)
        current: cst.CSTNode = parent
        if not (
            isinstance(parent, cst.Attribute)
            and parent.value is node
            and parent.attr.value in ("query", "objects")
        ):
            call = self.get_metadata(ParentNodeProvider, parent, None)
            if not (isinstance(call, cst.Call) and queries.session_query(call, node.value)):
                return False
            current = call
        read = False
        django = isinstance(parent, cst.Attribute) and parent.attr.value == "objects"
        chain = (
            READ_CHAIN | djangoreads.STEPS | djangoreads.WRITE_STEPS
            if django  # a manager: Django's queryset steps too
            else READ_CHAIN | queries.SHAPING | writes.CHAIN_WRITES
        )
        served: list[cst.Name] = []  # the model's names in the conditions the owner applies
        while True:
            attr = self.get_metadata(ParentNodeProvider, current)
            custom = (
                django
                and isinstance(attr, cst.Attribute)
                and self._called(attr)
                and attr.attr.value not in chain
            )
            if not (
                isinstance(attr, cst.Attribute)
                and attr.value is current
                and (attr.attr.value in chain or custom)
            ):
                line = self.get_metadata(PositionProvider, node).start.line
                ends = self.read_ends.setdefault(node.value, {}).setdefault(line, [])
                op = current.func.attr.value if read else ""  # type: ignore[attr-defined]
                holder = (
                    self.get_metadata(ParentNodeProvider, attr, None)
                    if isinstance(attr, cst.Arg)
                    else None
                )
                if django and (_handed_to_django(attr) or djangoreads.needs_queryset(holder)):
                    return False  # Django itself needs a real queryset there
                if not django and (op in queries.REFINING or not read):
                    # a query kept in a variable and refined step by step: its reads
                    variable = self._query_variable(attr, node.value)
                    if variable is not None:
                        ends += variable[0]
                        self._served.update(id(n) for n in [*served, *variable[1]])
                        return True
                    if isinstance(attr, cst.Assign):  # a query in a variable used for more
                        return self._why(node, line, VARIABLE)
                if read and isinstance(current, cst.Call):  # what it gives, for _rows_read
                    after = attr.attr.value if isinstance(attr, cst.Attribute) else None
                    ends.append((op, "", current, after))
                    self._served.update(id(n) for n in served)
                if not read and isinstance(attr, cst.Attribute) and self._called(attr):
                    return self._why(node, line, queries.why_stopped(attr.attr.value))
                return read
            call = self.get_metadata(ParentNodeProvider, attr)
            if not isinstance(call, cst.Call) or call.func is not attr:
                return False
            if django:
                if not djangoreads.step_sendable(attr.attr.value, call):
                    return False
                if custom:  # the model's own manager method: judged by Analyzer._custom_reads
                    line = self.get_metadata(PositionProvider, node).start.line
                    self.custom.setdefault(node.value, {}).setdefault(line, []).append(
                        (attr.attr.value, call)
                    )
            else:
                names = (
                    writes.served_update(call, node.value, self.models)
                    if attr.attr.value in writes.CHAIN_WRITES
                    else queries.served_arguments(attr.attr.value, call, node.value, self.models)
                )
                if names is None:
                    line = self.get_metadata(PositionProvider, node).start.line
                    why = queries.why_refused(attr.attr.value, call, node.value, self.models)
                    return self._why(node, line, why)
                served += names
            read, current = True, call

    def _why(self, node: cst.Name, line: int, reason: str) -> bool:
        """Note why the read chain of ``node`` is not sent (for the report), for every line
        of the expression it is in (the other model's names in it are listed there too)."""
        top: cst.CSTNode = node
        while True:
            above = self.get_metadata(ParentNodeProvider, top, None)
            if above is None or isinstance(
                above, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.Lambda)
            ):
                break
            top = above
        span = self.get_metadata(PositionProvider, top)
        for at in range(min(line, span.start.line), span.end.line + 1):
            self.why.setdefault(at, reason)
        return False

    def _called(self, attr: cst.Attribute) -> bool:
        call = self.get_metadata(ParentNodeProvider, attr)
        return isinstance(call, cst.Call) and call.func is attr


def _handed_to_django(parent: cst.CSTNode | None) -> bool:
    """Whether a queryset chain is handed to Django itself: a form field's or a view's
    ``queryset`` (``ModelChoiceField(queryset=...)``, ``queryset = ...`` in a class,
    ``self.fields["x"].queryset = ...``), which Django evaluates as a real ``QuerySet``."""
    if isinstance(parent, cst.Arg):
        return parent.keyword is not None and parent.keyword.value == "queryset"
    if isinstance(parent, cst.Assign):
        return any(
            (isinstance(t.target, cst.Name) and t.target.value == "queryset")
            or (isinstance(t.target, cst.Attribute) and t.target.attr.value == "queryset")
            for t in parent.targets
        )
    return False


class Analyzer:
    """Cross-service references of every service, and the decisions made about them."""

    def __init__(
        self,
        plan: Plan,
        tree: SourceTree,
        layout: Layout,
        writers: set[str],
        session_factory: str | None = None,
    ) -> None:
        self.plan = plan
        self.tree = tree
        self.layout = layout
        self.classifier = Classifier(tree, session_factory)
        self.writers = writers
        self.exceptions = tree.exceptions
        self.interface = {f for s in plan.services.values() for f in s.interface}
        #: (module, function) taken as a FastAPI dependency somewhere, found on first need
        self._dependencies: set[tuple[str, str | None]] | None = None
        self._sig: dict[str, dict[str, Verdict]] = {}
        self._requests = djangoreads.RequestUses(self.classifier)
        self._uses_cache: dict[str, _Uses] = {}
        #: uses of a parameter a model class is handed to, by its module and name
        self._param_uses: dict[tuple[str, str], _Uses] = {}
        self._relations: dict[str, dict[str, tuple[str, str, str]]] = {}
        self._reverse: dict[tuple[str, str], str] | None = None
        self._tables: dict[str, str] = {}  # model class name -> its table
        #: model class name -> relationships other models' ``backref=`` give it
        self._backrefs: dict[str, dict[str, tuple[str, str, str]]] = {}
        #: relationships read through a copy by the rows judged since the last ``_take_related``
        self._related: dict[str, dict[str, tuple[str, str, str, str]]] = {}
        #: is that module (and name) importable in the service being judged (service_refs)
        self._has: Callable[[str, str | None], bool] = lambda module, name: False
        self._writes: dict[str, set[str]] = {}  # model -> its methods that write its row
        #: why the last read judged (_helper_reads, _rows_read) is not served, for the report
        self.refused = ""

    def owner_of(self, module: str, name: str | None) -> str | None:
        if module in self.layout.split and name is not None:
            return self.layout.split[module].get(name)
        return self.layout.whole.get(module)

    def signature(self, key: str) -> dict[str, Verdict]:
        if key not in self._sig:
            mod, name = key.split(":")
            sig = self.classifier.signature(self.tree.info(mod).functions[name], mod)
            owner = self.owner_of(mod, name)
            self._sig[key] = {
                p: self.row_verdict(v, owner, key, None if p == "return" else p)
                for p, v in sig.items()
            }
            self._sig[key].update(self._requests.verdicts(mod, self.tree.info(mod).functions[name]))
        return self._sig[key]

    def row_verdict(
        self, verdict: Verdict, owner: str | None, key: str | None = None, param: str | None = None
    ) -> Verdict:
        """A row of one of ``owner``'s own models crosses as its columns: the owner loads an
        argument again by its key from its own database, the caller gets a result as a
        read-only ``ReadRow``. A row of the caller's model crosses as a read-only copy where
        the function ``key`` only reads columns of its parameter ``param``. The class itself,
        or anything else, still does not cross."""
        if verdict.models and not verdict.ok and owner is not None:
            # a row of one of several models (``TypeVar("S", Case, Incident)``): each must cross
            each = [
                self.row_verdict(Verdict(False, verdict.reason, m), owner, key, param)
                for m in verdict.models
            ]
            bad = next((v for v in each if not v.ok), None)
            if bad is not None:
                return bad
            names = " or ".join(m.rpartition(":")[2] for m in verdict.models)
            return Verdict(True, f"one of {names} rows: {'; '.join(v.reason for v in each)}")
        if (
            verdict.ok
            or verdict.model is None
            or owner is None
            or "passes the class" in verdict.reason
        ):
            return verdict
        mod, _, cls = verdict.model.partition(":")
        if self.owner_of(mod, cls) == owner:
            return Verdict(
                True,
                f"{ROW_REASON} {cls}: sent as its columns, loaded by key by {owner}",
                verdict.model,
            )
        holder = self.owner_of(mod, cls)
        if (
            param is None
            and holder not in (None, KERNEL)
            and "(ORM model instance)" in verdict.reason
        ):
            # one row of another service the callee read through its read model: a ReadRow
            # there, sent as its columns; the caller gets a read-only copy (checked at each
            # call); a list of rows, a class or a row it builds still does not cross
            return Verdict(
                True,
                f"{ROW_REASON} {cls} of {holder}: {FOREIGN_ROW}",
                verdict.model,
            )
        if key is None or param is None or holder in (None, KERNEL):
            return verdict
        fmod, _, fname = key.partition(":")
        why = self._misuse(
            self.tree.info(fmod).functions[fname].node, {param}, verdict.model, passed_on=True
        )
        if why:
            return Verdict(
                False, f"{verdict.reason}; {why.replace('caller', 'callee')}", verdict.model
            )
        return Verdict(
            True,
            f"a read-only copy of the {cls} row: {fname} reads its columns only",
            verdict.model,
        )

    def _row_misuse(
        self, module: str, call: cst.BaseExpression, model: str, writable: bool = False
    ) -> str:
        """Why the caller cannot have a read-only copy of the row ``call`` returns ('' when
        it only reads columns of it): the name it is bound to in the calling function is
        changed, written or asked for more than the columns the owner sends."""
        func = _enclosing(self.tree.info(module).module, call)
        if func is None:
            return ""
        names = _aliases(func, _bound_to(func, call))
        return self._misuse(func, names, model, writable=writable) if names else ""

    def _misuse(
        self,
        func: cst.FunctionDef,
        names: set[str],
        model: str,
        passed_on: bool = False,
        depth: int = 0,
        writable: bool = False,
    ) -> str:
        """Why ``func`` needs more than a read-only copy of the row its ``names`` hold ('' when
        it only reads columns, or columns of related rows, see _related_misuse; ``passed_on``:
        handing the row on to anything counts too; ``writable``: a row of a read model, whose
        columns set, session add/delete and writing methods go to its owner, see writes)."""
        columns = self._columns(model)
        cls = model.rpartition(":")[2]
        # a row is always true, as its copy is, unless its class can make it false
        truthy = not self.classifier.defines(model, _FALSY)
        finder = _RowUses(names, frozenset(_local_sets(func)), truthy)
        func.body.visit(finder)
        settable = self._columns(model, translated=False)
        if writable and finder.set_attrs <= settable and finder.write_ops <= {"add", "delete"}:
            finder.changed = finder.written = ""  # sent to the owner (runtime.ReadRow)
            own = self._row_writes(model)
            finder.read = {a for a in finder.read if a not in own}
        if passed_on and finder.bare:
            return (
                f"the caller hands the {cls} row on ({finder.bare} use(s) other than "
                "reading an attribute)"
            )
        if finder.changed:
            return (
                f"the caller changes the {cls} row it gets ({finder.changed}); a copy is "
                "read-only: change it through the owner's interface"
            )
        if finder.written:
            return f"the caller hands the {cls} row to its own session ({finder.written})"
        other = sorted(a for a in finder.read if a not in columns)
        if not passed_on:  # a getter of the model the caller's copy runs itself
            other = [a for a in other if not self._computed(model, a)]
        if other and not passed_on and depth < RELATED_DEPTH:
            chains = _Chains(names)
            func.body.visit(chains)
            other = [a for a in other if self._related_misuse(func, model, a, chains, depth)]
        if other:
            return (
                f"the caller reads {', '.join('.' + a for a in other[:3])} of the {cls} "
                "row, which is not one of its columns"
            )
        return ""

    def _queryset_misuse(self, module: str, call: cst.Call, model: str) -> str:
        """Why the caller needs more than a read model's queryset from ``call`` ('' when not):
        kept in a variable, it may only be refined and read (``djangoreads.QuerysetUses``),
        and the rows it gives only read for their columns; not kept, it is judged as its
        rows, as any other read."""
        func = _enclosing(self.tree.info(module).module, call)
        uses = djangoreads.QuerysetUses(func, call) if func is not None else None
        if uses is None or not uses.names:
            return self._row_misuse(module, call, model, writable=True)
        if uses.why:
            return f"the caller {uses.why}"
        columns = self._columns(model)
        for row, read in uses.rows:
            why = self._row_misuse(module, row, model, writable=True) if read is None else ""
            if why or (read is not None and read not in columns):
                return why or f"the caller reads .{read} of the row, which is not a column"
        rows = _aliases(func, uses.row_names) if uses.row_names else set()  # type: ignore[arg-type]
        return self._misuse(func, rows, model, writable=True) if rows else ""  # type: ignore[arg-type]

    def _row_writes(self, model: str) -> set[str]:
        """Methods of ``model``'s own code the owner runs on its row: those that write it
        (writes.write_methods) and those that only read it (ownreads.read_methods)."""
        if model not in self._writes:
            helpers = self.classifier.read_helpers(model)
            ops = (writes.WRITE_ROW, OWNER_READ_ROW)
            self._writes[model] = {m for m, op in helpers.items() if op in ops}
        return self._writes[model]

    def _related_misuse(
        self, func: cst.FunctionDef, model: str, attr: str, chains: _Chains, depth: int
    ) -> bool:
        """Whether ``func`` uses the relationship ``attr`` of the ``model`` row for more than
        a copy resolves (``runtime.ReadRow``): a many-to-one row may only be read for its
        columns (or its own relationships, by the same rule), also through a name it is
        bound to, a one-to-many list only looped over for that; what is read so is noted for
        the client (``_take_related``)."""
        rel = self.relations_of(model).get(attr)
        if rel is None:
            return True
        target, key, kind = rel
        for path, how in chains.chains:
            if path[0] != attr:
                continue
            rest = path[1:]
            if not rest and how == "test":  # the copy answers None, a row or a list
                continue
            if kind in ("many", "via"):
                if rest or not how.startswith("for:"):
                    return True
                if self._misuse(func, {how[4:]}, target, depth=depth + 1):
                    return True
            elif not rest and how.startswith("bind:"):  # ``project = case.project``
                if self._misuse(func, {how[5:]}, target, depth=depth + 1):
                    return True
            elif not rest or (how == "set" and len(rest) == 1):
                return True
            elif rest[0] not in self._columns(target):
                sub = _Chains(set())
                sub.chains = [(rest, how)]
                if self._related_misuse(func, target, rest[0], sub, depth + 1):
                    return True
        owner = self.owner_of(*target.split(":"))
        self._related.setdefault(model.rpartition(":")[2], {})[attr] = (
            target.rpartition(":")[2],
            owner or "?",
            key,
            kind,
        )
        return False

    def relations_of(
        self, model: str, seen: frozenset[str] = frozenset()
    ) -> dict[str, tuple[str, str, str]]:
        """Relationships of ``model`` (and of the classes it derives from, and those other
        models' ``backref=`` give it) a read-only copy can resolve (data.relations), with the
        target as ``module:Class``: only targets that are models of an owning service."""
        if self._reverse is None:
            nodes = {k.split(":")[1]: m.node for k, m in sorted(self.tree.models.items())}
            self._reverse = reverse_keys(nodes)
            self._tables = {
                k.split(":")[1]: m.table or _snake(k.split(":")[1])
                for k, m in sorted(self.tree.models.items(), reverse=True)
            }
            for k, m in sorted(self.tree.models.items()):
                table = self._tables[k.split(":")[1]]
                for cls, attr, rel in backrefs(m.node, table, self._reverse, self._tables):
                    self._backrefs.setdefault(cls, {}).setdefault(attr, rel)
        if model in self._relations:
            return self._relations[model]
        info = self.tree.models.get(model) or self._class(model)
        found: dict[str, tuple[str, str, str]] = {}
        if info is None or model in seen:
            return found
        module = model.partition(":")[0]
        for base in reversed(info.bases):
            parent = self.classifier.class_of(base, module)
            if parent is not None:
                found.update(self.relations_of(parent, seen | {model}))
        table = info.table or _snake(info.name)
        rels = {
            **(self._backrefs.get(info.name, {}) if model in self.tree.models else {}),
            **djangoreads.foreign_keys(info.node),
            **relations(info.node, table, self._reverse, self._tables),
        }
        for attr, (name, fk, kind) in rels.items():
            target = self.classifier.model_names.get(name)
            if target is not None and self.owner_of(*target.split(":")) not in (None, KERNEL):
                found[attr] = (target, fk, kind)
        mine = self.owner_of(module, info.name) if model in self.tree.models else None
        for attr, name in secondary_relations(info.node).items():
            target = self.classifier.model_names.get(name)  # the row's owner reads it ("via")
            if target and mine not in (None, KERNEL) and self.owner_of(*target.split(":")) == mine:
                found.setdefault(attr, (target, "", "via"))
        self._relations[model] = found
        return found

    def _take_related(self, client: Client | None) -> None:
        """Hand the relationships the rows just judged read on to ``client``'s copies."""
        related, self._related = self._related, {}
        if client is not None:
            for model, rels in related.items():
                client.relations.setdefault(model, {}).update(rels)

    def _computed(self, model: str, attr: str) -> bool:
        """``attr`` is a getter of ``model`` that a read-only copy runs itself
        (``properties.judge``): noted for the client, with the relationships it reads, as
        ``_related_misuse`` notes a relationship."""
        info = self.tree.models.get(model) or self._class(model)
        if info is None:
            return False
        judged = properties.judge(
            properties.getters(info.node),
            self.tree.info(model.partition(":")[0]),
            attr,
            properties.known_names(self._hierarchy(model)),
            lambda target: self._columns(target or model),
            self.relations_of(model),
            self._importable,
        )
        if judged is None:
            return False
        noted = self._related.setdefault(model.rpartition(":")[2], {})
        for name in judged.getters:
            noted[name] = (model, "", "", properties.KIND)
        for name, (target, key, kind) in judged.relations.items():
            owner = self.owner_of(*target.split(":")) or "?"
            noted[name] = (target.rpartition(":")[2], owner, key, kind)
        return True

    def _hierarchy(self, model: str):  # noqa: ANN202 - see properties.hierarchy
        return properties.hierarchy(model, self._class, self.classifier.class_of)

    def _shared(self, model: str, method: str) -> str | None:
        """The class (``module:Class``) whose static or class-free class method ``method`` of
        ``model`` a client can copy: it calls only builtin values' methods on what it is
        given (or methods of the model's own code the owner runs on a row: ``row.serialize()``
        of a read model's row), and every name it uses is a library's (never the monolith's:
        its database)."""
        helpers = self.classifier.read_helpers(model)
        rows = frozenset(m for m, op in helpers.items() if op == OWNER_READ_ROW)
        found = properties.helper(self._hierarchy(model) or [], method, rows)
        if found is None:
            return None
        key, func = found
        free = properties.reads(func).free
        tops = {m.split(".")[0] for m in self.tree.files}
        lines = properties.module_names(
            self.tree.info(key.partition(":")[0]),
            free,
            lambda imp: imp.module.split(".")[0] not in tops,
        )
        return key if lines is not None else None

    def _importable(self, imp: ImportInfo) -> bool:
        """The caller's service can import what ``imp`` imports (a library, or a module of
        the monolith it or the kernel has)."""
        if imp.module.split(".")[0] not in {m.split(".")[0] for m in self.tree.files}:
            return True
        if imp.name is None:
            return self._has(imp.module, None)
        module, name = self.tree.resolve(imp.module, imp.name)
        return module in self.tree.files and self._has(module, name)

    def _columns(
        self, model: str, seen: frozenset[str] = frozenset(), translated: bool = True
    ) -> set[str]:
        """Column attributes of ``model`` and of the classes of the tree it derives from."""
        info = self.tree.models.get(model) or self._class(model)
        if info is None or model in seen:
            return set()
        out = {c for c, typ in info.columns.items() if not _relationship_type(typ)}
        out |= _django_columns(info.node, translated)
        out |= {  # a mixin's ``@declared_attr`` columns
            n.value
            for n, v in declared_attrs(info.node)
            if isinstance(n, cst.Name)
            and isinstance(v, cst.Call)
            and dotted(v.func).split(".")[-1] in ("Column", "mapped_column")
        }
        module = model.partition(":")[0]
        for base in info.bases:
            parent = self.classifier.class_of(base, module)
            if parent is not None:
                out |= self._columns(parent, seen | {model}, translated)
        return out

    def _class(self, key: str):  # noqa: ANN202
        module, _, name = key.partition(":")
        return self.tree.info(module).classes.get(name) if module in self.tree.files else None

    def service_refs(
        self,
        service: str,
        modules: dict[str, set[str] | None],
        has: Callable[[str, str | None], bool],
    ) -> ServiceRefs:
        """``modules``: module -> the top-level names kept in it (None: the whole module);
        ``has(module, name)``: is that importable in the service?"""
        out = ServiceRefs()
        self._has = has
        for module in sorted(modules):
            self._module_refs(service, module, modules[module], out, has)
        return out

    def _module_refs(
        self,
        service: str,
        module: str,
        kept: set[str] | None,
        out: ServiceRefs,
        has: Callable[[str, str | None], bool],
    ) -> None:
        info = self.tree.info(module)
        refs: dict[str, Ref] = {}
        for imp in info.imports:
            if imp.module.split(".")[0] not in {m.split(".")[0] for m in self.tree.files}:
                continue  # third party or standard library
            if imp.name is None:
                if "." in imp.module and imp.binding == imp.module.split(".")[0]:
                    continue  # ``import a.b.c`` without alias: left as is (docs/extract.md, limits)
                tm, tn = imp.module, None
            else:
                tm, tn = self.tree.resolve(imp.module, imp.name)
            if tm not in self.tree.files:
                continue
            if has(tm, tn):
                continue
            owner = self.owner_of(tm, tn)
            refs[imp.binding] = Ref(service, module, imp.binding, tm, tn, owner, imp.line)
        if not refs:
            return
        uses = self._uses(module)
        rel = self.tree.rel(module)
        in_scope = self._line_filter(info, kept)
        pending: list[tuple[tuple[str, int, str], list[int], bool]] = []
        for binding, ref in sorted(refs.items()):
            out.refs.append(ref)
            if ref.target_name is None:
                for used in sorted(uses.attrs.get(binding, ())):
                    tm, tn = self.tree.resolve(ref.target_module, used)
                    self.add_entry(out, service, ref.target_module, used, (tm, tn))
            else:
                self.add_entry(
                    out,
                    service,
                    ref.target_module,
                    ref.target_name,
                    (ref.target_module, ref.target_name),
                )
            for line in uses.lines.get(binding, []):
                if in_scope(line):
                    node = f"{ref.target_module}:{ref.target_name or '*'}"
                    out.uses.append((rel, line, node, ref.owner or "?"))
                    if line in uses.model_classes.get(binding, ()):
                        out.model_classes.add((rel, line, node))
                    handed = uses.handed.get(binding, {}).get(line, [])
                    if line in uses.others.get(binding, ()) or not all(
                        self._handed_reads(module, out, ref, *one) for one in handed
                    ):
                        why = uses.why.get(line) or uses.constructs.get((binding, line))
                        if why:
                            out.why[(rel, line, node)] = why
                        continue
                    if handed and line in uses.handed_only.get(binding, ()):
                        out.reads.add((rel, line, node))
                    methods = uses.methods.get(binding, {}).get(line, [])
                    chains = uses.joined.get(binding, {}).get(line)
                    if chains:  # judged below, once every read model is known
                        alone = not methods and line not in uses.reads.get(binding, ())
                        pending.append(((rel, line, node), chains, alone))
                        if alone:
                            continue
                    self.refused = ""
                    if methods and not self._helper_reads(module, out, ref, methods):
                        if self.refused:
                            out.why.setdefault((rel, line, node), self.refused)
                        continue
                    if methods or line in uses.reads.get(binding, ()):
                        ends = uses.read_ends.get(binding, {}).get(line, [])
                        custom = uses.custom.get(binding, {}).get(line, [])
                        if self._rows_read(module, out, ref, ends) and self._custom_reads(
                            out, ref, custom
                        ):
                            out.reads.add((rel, line, node))
                        elif self.refused:
                            out.why.setdefault((rel, line, node), self.refused)
                    elif line in uses.hints.get(binding, ()) and self.read_model(out, ref):
                        out.hints.add((rel, line, node))
        if pending:
            self._joined(module, out, refs, pending)
        for binding, attr, line, call in uses.calls:
            if binding not in refs or not in_scope(line):
                continue
            ref = refs[binding]
            if ref.target_name is None:
                if attr is None:
                    continue
                tm, tn = self.tree.resolve(ref.target_module, attr)
                client_mod = ref.target_module
            else:
                if attr is not None:
                    continue  # a method of an imported class or object
                tm, tn, client_mod = ref.target_module, ref.target_name, ref.target_module
            if tn is None or tm not in self.tree.files or tn not in self.tree.info(tm).functions:
                continue
            entry = out.clients[client_mod].entries[
                attr or ref.binding if ref.target_name is None else tn
            ]
            owner = self.owner_of(tm, tn) or "?"
            verdict = self.call_verdict(f"{tm}:{tn}", call, module, id(call) in uses.dropped)
            if entry.kind == EFFECT and id(call) not in uses.dropped:
                # its client gives back nothing, which this caller would take for the result
                entry.kind = "unavailable"
                entry.reason += f"; {rel}:{line} uses the result"
            if entry.kind in ("function", EFFECT) and not verdict.ok:
                entry.kind, entry.reason, entry.model = "unavailable", verdict.reason, verdict.model
            converted = entry.kind in CALLED
            reason = (
                entry.reason
                if entry.kind == "copy"
                else ""
                if converted
                else (entry.reason or verdict.reason)
            )
            model = entry.model or verdict.model
            result = self.signature(f"{tm}:{tn}").get("return")
            if (
                converted
                and entry.kind == "function"
                and result is not None
                and result.reason.startswith(ROW_REASON)
            ):
                self._related = {}
                why = self._row_misuse(module, call, result.model or "")
                self._take_related(None if why else out.clients[client_mod])
                if why:
                    converted, reason, model = False, f"result: {why}", result.model
            out.calls.append(
                CallSite(
                    service,
                    rel,
                    line,
                    f"{tm}:{tn}",
                    owner,
                    converted,
                    reason,
                    suggest_dto(self.tree, model) if model and not converted else "",
                )
            )
        # a call whose entry was downgraded after an earlier call site was judged: re-judge
        for c in out.calls:
            if c.converted and c.caller == service:
                for client in out.clients.values():
                    e = client.entries.get(c.callee.split(":")[1])
                    if (
                        client.target_module == c.callee.split(":")[0]
                        and e
                        and e.kind not in CALLED
                    ):
                        c.converted, c.reason = False, e.reason

    def _joined(
        self,
        module: str,
        out: ServiceRefs,
        refs: dict[str, Ref],
        pending: list[tuple[tuple[str, int, str], list[int], bool]],
    ) -> None:
        """Uses of another service's model in query chains with joins: converted where each
        chain is composed from key reads (joins.judge) and nothing else on the line stops it."""
        uses = self._uses(module)
        stand_ins = {b for b, r in refs.items() if self.read_model(out, r)}
        ctx = self.join_context(module, stand_ins, set(refs))
        verdicts = {
            i: joins.judge(uses.join_chains[i], ctx, self._later(uses, i))
            for _, c, _ in pending
            for i in c
        }
        for key, chains, alone in pending:
            judged = [verdicts[i] for i in chains]
            why = next((v.why if v else "" for v in judged if v is None or v.why), None)
            if why is None:
                why = self._joined_rows(module, out, refs, chains, verdicts)
            if why is None:
                if alone:  # else the other reads on the line decided
                    out.reads.add(key)
                continue
            out.reads.discard(key)
            if why:
                first = next(iter(joins.joined_by(uses.join_chains[chains[0]])), "join")
                out.why[key] = joins.listed(why, first)
            elif uses.why.get(key[1]):
                out.why[key] = uses.why[key[1]]

    def _joined_rows(
        self,
        module: str,
        out: ServiceRefs,
        refs: dict[str, Ref],
        chains: list[int],
        verdicts: dict[int, joins.Verdict | None],
    ) -> str | None:
        """Why the rows a composed chain on another service's model gives are used for more
        than their columns (None: they are not, or the chain is on this service's model)."""
        uses = self._uses(module)
        for i in chains:
            verdict = verdicts[i]
            if verdict is None or not verdict.root:
                continue
            kept = uses.join_vars[i]
            ends = (
                kept[0]
                if kept is not None and not verdict.end
                else [(verdict.end, "", uses.join_chains[i], uses.join_after[i])]
            )
            if not self._rows_read(module, out, refs[verdict.root], ends):
                return f"the rows of {verdict.root} it reads are used for more than their columns"
        return None

    @staticmethod
    def _later(uses: _Uses, index: int) -> list[str] | None:
        """The reads of the variable join chain ``index`` is kept in (None: it is not)."""
        kept = uses.join_vars[index]
        return None if kept is None else [end[0] for end in kept[0]]

    def join_context(self, module: str, remote: set[str], foreign: set[str]) -> joins.Context:
        """The models a module's join chains name, for a service where ``remote`` bindings
        are read models and ``foreign`` ones come from other services."""
        info = self.tree.info(module)
        keys: dict[str, str] = {n: f"{module}:{n}" for n in info.classes}
        for imp in info.imports:
            if imp.name is not None:
                tm, tn = self.tree.resolve(imp.module, imp.name)
                keys[imp.binding] = f"{tm}:{tn}"
        models = self._uses(module).models
        shapes = {}
        for binding in sorted(models):
            key = keys.get(binding, "")
            cls = self.tree.models.get(key)
            if cls is not None and cls.table:
                shapes[binding] = joins.shape(cls.table, self.classifier.class_nodes(key))
        remote, local = remote & models, models - foreign
        aliases = self._uses(module).aliases
        for alias, model in aliases.items():  # one more side, read like its model
            if model in shapes:
                shapes[alias] = shapes[model]
                if model in remote:
                    remote.add(alias)
                elif model in local:
                    local.add(alias)
        return joins.Context(remote, local, shapes, set(models), aliases)

    def _helper_reads(self, module: str, out: ServiceRefs, ref: Ref, methods: list[Method]) -> bool:
        """Every call is a class method the read model answers (``read_helpers``), with a key
        for a read by key and keyword filters otherwise, and what it gives is only read for
        its columns (directly, or through the names it is bound to in the calling function)."""
        entry = self._model_entry(out, ref)
        if entry is None:
            return False
        shared: dict[str, str] = {}  # a static helper of the model: the client copies it
        for method, shape, call, _read in methods:
            op = entry.helpers.get(method)
            if op in (writes.WRITE_CLASS, OWNER_READ):  # the owner runs it: values cross
                classes = set(self.classifier.model_names) | {ref.binding}
                if any(names_in(a.value, strings=False) & classes for a in call.args):
                    self.refused = f"`{ref.binding}.{method}(...)` is given a model or its columns"
                    return False
                if op == OWNER_READ and not all(
                    self.classifier.expression(a.value, module).ok for a in call.args
                ):  # what the owner's method is given crosses as JSON
                    self.refused = (
                        f"`{ref.binding}.{method}(...)` is given values that are not data"
                    )
                    return False
                continue
            where = self._shared(entry.model, method) if op is None and entry.model else None
            if where is not None:
                shared[method] = where
            elif op is None or shape not in (
                ("key",)
                if op == "get"
                else ("filters", "none", "where")
                if self._filters_by_arguments(entry.model or "", method)
                else ("filters", "none")
            ):
                self.refused = (
                    f"`{ref.binding}.{method}(...)` is a method of the model's own code that "
                    "neither only reads (giving plain data) nor writes only its rows"
                    if op is None
                    else f"`{ref.binding}.{method}(...)` is given more than "
                    + ("a key" if op == "get" else "keyword filters")
                )
                return False
        ends = [(entry.helpers[m[0]], *m[1:]) for m in methods if m[0] not in shared]
        if not self._rows_read(module, out, ref, ends):
            return False
        client = out.clients[ref.target_module]
        for method, where in shared.items():
            noted = client.relations.setdefault((entry.model or "").rpartition(":")[2], {})
            noted[method] = (where, "", "", properties.HELPER)
        return True

    def _filters_by_arguments(self, model: str, method: str) -> bool:
        """The read helper ``method`` of ``model`` filters by its positional arguments
        (``cls.query.filter(*criterions)...``): the read model sends column conditions there."""
        defined = self.classifier.class_methods(model).get(method)
        if defined is None:
            return False
        func = self.classifier.method_node(defined, method)
        star = func.params.star_arg
        return isinstance(star, cst.Param) and f".filter(*{star.name.value})" in re.sub(
            r"\s+", "", cst.Module([]).code_for_node(func.body)
        )

    def _handed_reads(
        self,
        module: str,
        out: ServiceRefs,
        ref: Ref,
        call: cst.Call,
        where: int | str,
        after: str | None,
    ) -> bool:
        """``f(Model, ...)`` hands the class to a function of this service (or the kernel)
        that runs here with the read model in its place: fine where the function does nothing
        with that parameter but reads a read model answers (read helpers, read chains), and the
        caller only reads the columns of the rows it gives back (``get_instance(Model, key)``)."""
        entry = self._model_entry(out, ref)
        found = self.classifier.callee(dotted(call.func), module)
        if entry is None or entry.model is None or found is None or not self._has(*found):
            return False
        fmod, fname = found
        func = self.tree.info(fmod).functions[fname]
        named = [p for p in func.params if p.kind in ("posonly", "pos", "kw")]
        positional = [p for p in named if p.kind != "kw"]
        param = (
            next((p for p in named if p.name == where), None)
            if isinstance(where, str)
            else positional[where]
            if where < len(positional)
            else None
        )
        if param is None:
            return False
        name = param.name
        if (fmod, name) not in self._param_uses:  # once per function module and parameter
            uses = _Uses({name}, {name})
            MetadataWrapper(self.tree.info(fmod).module, unsafe_skip_copy=True).visit(uses)
            self._param_uses[(fmod, name)] = uses
        uses = self._param_uses[(fmod, name)]
        in_func = self._line_filter(self.tree.info(fmod), {fname})
        inside = lambda lines: [n for n in lines if in_func(n)]  # noqa: E731
        if (
            inside(uses.others.get(name, ()))
            or inside(uses.handed_only.get(name, ()))
            or inside(uses.joined.get(name, {}))
        ):
            return False
        methods = [m for n in inside(uses.methods.get(name, {})) for m in uses.methods[name][n]]
        if methods and not self._helper_reads(fmod, out, ref, methods):
            return False
        for n in inside(uses.reads.get(name, ())):
            ends = uses.read_ends.get(name, {}).get(n, [])
            if not self._rows_read(fmod, out, ref, ends):
                return False
        if after is not None and after not in self._columns(entry.model):
            return False  # the result asked at once for more than a row's columns
        return not self._row_misuse(module, call, entry.model, writable=True)

    def _rows_read(
        self, module: str, out: ServiceRefs, ref: Ref, ends: Sequence[queries.End]
    ) -> bool:
        """The rows these reads give are only read for their columns: an attribute right
        after the read, or through the names they are bound to in the calling function."""
        entry = self._model_entry(out, ref)
        if entry is None or entry.model is None:
            return False
        self._related = {}
        for op, _shape, call, read in ends:
            if op in ("count", "exists", OWNER_READ) or djangoreads.plain_result(call):
                continue
            if read is not None:  # an attribute of the row at once: a column, or a method
                if read not in self._columns(entry.model) | self._row_writes(entry.model):
                    self._related = {}
                    self.refused = f"`.{read}` of the row read is not one of its columns"
                    return False
                continue
            why = (
                (
                    self._queryset_misuse(module, call, entry.model)
                    if isinstance(call, cst.Call)
                    else ""
                )
                if op in djangoreads.QUERYSET_STEPS
                else self._row_misuse(module, call, entry.model, writable=True)
            )
            if why:
                self._related = {}
                self.refused = f"the rows it reads: {why}"
                return False
        self._take_related(out.clients.get(ref.target_module))
        return True

    def _custom_reads(
        self, out: ServiceRefs, ref: Ref, methods: list[tuple[str, cst.Call]]
    ) -> bool:
        """Each manager method called in the read chain is one the owner runs for a read
        model (``djangoreads.custom_read``)."""
        entry = self._model_entry(out, ref)
        return not methods or (
            entry is not None
            and entry.model is not None
            and not any(
                djangoreads.custom_read(self.classifier, entry.model, m, call)
                for m, call in methods
            )
        )

    @staticmethod
    def _model_entry(out: ServiceRefs, ref: Ref) -> Entry | None:
        """The client module's entry for ``ref``'s name when it is served as a read model."""
        client = out.clients.get(ref.target_module)
        entry = client.entries.get(ref.target_name or "") if client else None
        return entry if entry is not None and entry.kind == "read-model" else None

    @classmethod
    def read_model(cls, out: ServiceRefs, ref: Ref) -> bool:
        """The client module serves ``ref``'s name as a read model."""
        return cls._model_entry(out, ref) is not None

    def _uses(self, module: str) -> _Uses:
        """Calls and uses of every internal import binding of a module (cached per module)."""
        if module not in self._uses_cache:
            info = self.tree.info(module)
            tops = {m.split(".")[0] for m in self.tree.files}
            names = {imp.binding for imp in info.imports if imp.module.split(".")[0] in tops}
            models = {n for n in info.classes if f"{module}:{n}" in self.classifier.models}
            for imp in info.imports:
                if imp.binding in names and imp.name is not None:
                    tm, tn = self.tree.resolve(imp.module, imp.name)
                    if f"{tm}:{tn}" in self.classifier.models:
                        models.add(imp.binding)
            uses = _Uses(names, models, joins.aliases(info.module, models))
            MetadataWrapper(info.module, unsafe_skip_copy=True).visit(uses)
            self._uses_cache[module] = uses
        return self._uses_cache[module]

    def _line_filter(self, info, kept: set[str] | None):  # noqa: ANN001, ANN202
        if kept is None:
            return lambda line: True
        spans = []
        for name in kept:
            node = info.functions.get(name) or info.classes.get(name)
            if node is not None:
                end = node.line + len(cst.Module([]).code_for_node(node.node).splitlines())
                spans.append((node.line - len(node.node.decorators), end))
        return lambda line: any(a <= line <= b for a, b in spans)

    def add_entry(
        self,
        out: ServiceRefs,
        service: str,
        client_mod: str,
        name: str,
        target: tuple[str, str | None],
    ) -> None:
        """Give ``out``'s client of ``client_mod`` an entry for ``name`` (the function, class
        or value ``target`` it stands for), classified once."""
        tm, tn = target
        owner = self.owner_of(tm, tn) or self.owner_of(client_mod, name) or "?"
        client = out.clients.get(client_mod)
        if client is None:
            client = out.clients[client_mod] = Client(service, owner, client_mod, "")
        if name in client.entries:
            return
        entry = self._classify(tm, tn, owner, service)
        entry.target = f"{tm}:{tn}" if tn is not None else tm
        client.entries[name] = entry

    def _classify(self, tm: str, tn: str | None, owner: str, service: str = "") -> Entry:
        if tn is None:
            return Entry("", "unavailable", f"module {tm} belongs to {owner}")
        info = self.tree.info(tm) if tm in self.tree.files else None
        key = f"{tm}:{tn}"
        if info is None:
            return Entry(tn, "unavailable", f"{key} not found")
        if tn in info.functions:
            if key not in self.interface:
                return Entry(
                    tn,
                    "unavailable",
                    f"{key} is not in the interface of {owner} "
                    "(add it to the plan to generate a client)",
                )
            context = self._request_context(tm, tn)
            if context:
                # it must run where the request is: a self-contained helper is copied into the
                # caller (like an exception class); anything bigger is left for a person
                if self._copyable(tm, tn):
                    return Entry(tn, "copy", f"copied: reads the caller's request ({context})")
                return Entry(
                    tn,
                    "unavailable",
                    f"reads the caller's request context ({context}): "
                    "it must run where the request is; pass the value in instead",
                )
            sig = self.signature(key)
            if FOREIGN_ROW in sig["return"].reason and all(v.ok for v in sig.values()):
                # the caller's own copy of the function gives it a real row
                copy = self._copy(tm, tn, service)[0]
                if copy is not None:
                    return copy
            # parameters named like a row are judged at each call site, when nothing else fails
            # and so is a result that is the argument given for a parameter
            guessed = {
                p for p, v in sig.items() if not v.ok and self._guessed(info.functions[tn], p)
            } | ({"return"} if sig["return"].param else set())
            deferred = bool(guessed) and all(v.ok or p in guessed for p, v in sig.items())
            if deferred and "return" in guessed and self._copy(tm, tn, service)[0] is not None:
                deferred = False  # the caller may run it itself, whatever it is given
            for pname, v in sig.items():
                if not v.ok and not deferred:
                    what = "result" if pname == "return" else f"argument {pname!r}"
                    # a result that is not data, or a request it cannot send: the caller
                    # may run the function itself
                    copy, why = (
                        self._copy(tm, tn, service)
                        if pname == "return" or pname in self._requests.params(info.functions[tn])
                        else (None, "")
                    )
                    if copy is not None:
                        return copy
                    if pname == "return" and all(
                        w.ok for p, w in sig.items() if p != "return"
                    ):  # served for what it does: converted where callers drop the result
                        return self._served(tn, key, EFFECT, f"{what}: {v.reason}{why}", v.model)
                    return Entry(tn, "unavailable", f"{what}: {v.reason}{why}", model=v.model)
            return self._served(tn, key, "function")
        if tn in info.classes:
            cls = info.classes[tn]
            if key in self.classifier.models:
                return Entry(
                    tn,
                    "read-model",
                    f"ORM model {tn} (table {cls.table}) is owned "
                    f"by {owner}: reads go to {owner}, anything else is data coupling",
                    model=key,
                    helpers=self.classifier.read_helpers(key),
                    columns=tuple(sorted(self._columns(key))),
                )
            if key in self.exceptions:
                return Entry(tn, "class")
            verdict = self.classifier.annotation(tn, tm)
            if verdict.ok:
                return Entry(tn, "class")
            return Entry(tn, "unavailable", f"class {tn} of {owner}: {verdict.reason}")
        if tn in info.variables:
            return Entry(tn, "value")
        return Entry(tn, "unavailable", f"{key} not found")

    def _served(
        self, name: str, key: str, kind: str, reason: str = "", model: str | None = None
    ) -> Entry:
        """The client entry of interface function ``key`` its owner serves (``kind``
        ``function``, or ``EFFECT`` with why its result does not cross)."""
        func = self.tree.info(key.partition(":")[0]).functions[key.partition(":")[2]]
        return Entry(
            name,
            kind,
            reason,
            model=model,
            idempotent=self.classifier.idempotent(func, self.writers, key),
            injected=self.injected(key),
        )

    def _copy(self, module: str, name: str, service: str) -> tuple[Entry | None, str]:
        """A helper that cannot be called over the network but that the caller can run as a
        copy (``copies.copy_closure``), else None and why not (to add to the reason)."""
        if not service:
            return None, ""
        needed, why = copy_closure(
            self.tree, module, name, lambda m, n: self.layout.has(service, m, n)
        )
        if why:
            return None, f"; not copied either: {why}"
        reason = "copied into the caller: plain code whose imports the caller has"
        return Entry(name, "copy", reason, copies=needed), ""

    def injected(self, key: str) -> tuple[str, ...]:
        """Session parameters of interface function ``key`` that its owner supplies."""
        return tuple(n for n, v in self.signature(key).items() if v.injected)

    def _copyable(self, module: str, name: str) -> bool:
        """A function that needs only constants of its module and third-party imports."""
        from migrator.extraction.mover import split_module

        info = self.tree.info(module)
        others = (set(info.functions) | set(info.classes)) - {name}
        result = split_module(info.source, {name}, others)
        if result.missing:
            return False
        tops = {m.split(".")[0] for m in self.tree.files}
        for stmt in cst.parse_module(result.code).body:
            if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body
            ):
                text = cst.Module([]).code_for_node(stmt)
                words = set(text.replace(".", " ").replace(",", " ").split())
                if words & tops:
                    return False  # it needs the monolith's own code
        return True

    def _request_context(self, module: str, name: str) -> str:
        """Flask/Django request-bound globals a function reads (``request``, ``session`` ...)."""
        info = self.tree.info(module)
        bound = {
            imp.binding
            for imp in info.imports
            if imp.module.split(".")[0] in ("flask", "flask_login", "werkzeug")
            and imp.name in ("request", "session", "g", "current_user")
        }
        from migrator.extraction.mover import names_in

        used = names_in(info.functions[name].node.body, strings=False) & bound
        if not used and self._dependency_of_routes(module, name):
            return "a FastAPI dependency, Depends(...)"
        return ", ".join(sorted(used))

    def _dependency_of_routes(self, module: str, name: str) -> bool:
        """FastAPI fills this function's parameters from the request (``Depends(name)``
        somewhere in the tree): a call over HTTP would lose the caller's headers and query."""
        if self._dependencies is None:
            self._dependencies = set()
            for other in self.tree.modules():
                info = self.tree.info(other)
                used = set(_DEPENDS.findall(info.source))
                if not used:
                    continue
                self._dependencies |= {(other, n) for n in used}
                for i in info.imports:
                    if i.name is not None and i.binding in used:
                        self._dependencies.add(self.tree.resolve(i.module, i.name))
        return (module, name) in self._dependencies

    def call_verdict(self, key: str, call: cst.Call, module: str, dropped: bool = False) -> Verdict:
        """Can this call cross? ``dropped``: nothing uses its result."""
        if key not in self.interface:
            return Verdict(False, f"{key} is not in the plan's interface")
        mod, name = key.split(":")
        func = self.tree.info(mod).functions[name]
        sig = self.signature(key)
        positional = [p for p in func.params if p.kind in ("posonly", "pos")]
        for i, arg in enumerate(call.args):
            if arg.star:
                return Verdict(False, "called with *args/**kwargs")
            if arg.keyword is not None:
                param = next((p for p in func.params if p.name == arg.keyword.value), None)
            else:
                param = positional[i] if i < len(positional) else None
            if param is None:  # the client sends no *args/**kwargs (it refuses them)
                return Verdict(False, "passes a value through *args/**kwargs, which is not sent")
            v = sig.get(param.name)
            if v is not None and (v.injected or v.reason == djangoreads.REQUEST_REASON):
                continue  # the caller's session stays with the caller; a request is sent
            if v is not None and not v.ok:
                # named like a row, but given plain data here (``mask("Shot", ...)``)
                if (
                    self._guessed(func, param.name)
                    and self.classifier.expression(arg.value, module).ok
                ):
                    continue
                return Verdict(False, f"argument {param.name!r}: {v.reason}", v.model)
            if v is not None and v.reason == MAPPING_REASON:
                continue  # the callee reads it as a mapping: whatever its name, not a row
            v = self.row_verdict(
                self.classifier.expression(arg.value, module, strict=False),
                self.owner_of(mod, name),
                key,
                param.name,
            )
            if (
                not v.ok
                and v.model is not None
                and "passes the class" not in v.reason
                and self.classifier.mapping(mod, func.node, param.name, v.model)
            ):
                continue  # taken for a row, but the callee reads it as a mapping
            if not v.ok:
                return Verdict(False, f"argument {param.name!r}: {v.reason}", v.model)
        return OK if dropped else self._given_back(func, sig["return"], call, module)

    def _given_back(
        self, func: FunctionInfo, result: Verdict, call: cst.Call, module: str
    ) -> Verdict:
        """A function that returns the argument given for a parameter (``result.param``)
        gives the caller plain data when that argument is (judged strictly), or the
        parameter's default when none is given."""
        if not result.param:
            return OK
        params = [p.name for p in func.params if p.kind in ("posonly", "pos")]
        for i, arg in enumerate(call.args):
            name = arg.keyword.value if arg.keyword else params[i] if i < len(params) else ""
            if name == result.param:
                v = self.classifier.expression(arg.value, module)
                return OK if v.ok else Verdict(False, f"result: {result.reason}: {v.reason}")
        return OK

    def _guessed(self, func: FunctionInfo, name: str) -> bool:
        """A parameter taken for a row by its name only (``entity_type``) that the function
        never reads an attribute of, changes or writes (it compares it or hands it on): each
        call site may show it to be plain data."""
        param = next((p for p in func.params if p.name == name), None)
        if (
            param is None
            or param.annotation is not None
            or param.name in INJECTED_NAMES
            or self.classifier.model_var(name) is None
        ):
            return False
        uses = _RowUses({name})
        func.node.body.visit(uses)
        return not (uses.read or uses.set_attrs or uses.written)


#: a function whose result cannot cross, served for what it does: its client sends the call
#: and gives back None, so every call the caller makes of it must drop the result
EFFECT = "effect"
#: entries whose calls are converted
CALLED = ("function", "copy", EFFECT)
#: how ``Analyzer.row_verdict`` says that a value is a row of the callee's own model
ROW_REASON = "a row of"
#: ... and that a result is a row of a third service's model (a ReadRow in the callee)
FOREIGN_ROW = "a read-only copy of its columns"


def _snake(name: str) -> str:
    """The table name SQLAlchemy helpers derive from a model class without ``__tablename__``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _relationship_type(typ: str) -> bool:
    """A mapped attribute typed as another model or a collection (the same test as
    ``suggest_dto``): not a column."""
    from migrator.extraction.convert import CODEC_NAMES

    return typ.startswith(("list[", "List[", 'Optional["', "set[")) or (
        typ[:1].isupper() and typ not in CODEC_NAMES
    )


def _django_columns(node: cst.ClassDef, translated: bool = True) -> set[str]:
    """Columns of a Django model class: its ``models.<X>Field(...)`` attributes, a foreign
    key's ``<name>_id``, ``id``/``pk`` and the fields of its ``TranslatedFields(...)``
    (django-parler) in the active language unless not ``translated`` (what
    ``runtime._columns`` sends of a Django row; a copy cannot set a translated field: the
    owner's ``update`` has no such column)."""
    out: set[str] = set()
    for stmt in getattr(node.body, "body", []):
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else []:
            if not (
                isinstance(small, cst.Assign)
                and isinstance(small.value, cst.Call)
                and isinstance(small.targets[0].target, cst.Name)
            ):
                continue
            name, field_class = small.targets[0].target.value, dotted(small.value.func)
            if field_class.endswith(("ForeignKey", "OneToOneField")):
                out.add(f"{name}_id")
            elif field_class.split(".")[-1] == "TranslatedFields" and translated:
                out |= {a.keyword.value for a in small.value.args if a.keyword is not None}
            elif field_class.endswith("Field") and "ManyToMany" not in field_class:
                out.add(name)
    return out | {"id", "pk"} if out else out


def _enclosing(module: cst.Module, call: cst.BaseExpression) -> cst.FunctionDef | None:
    """The innermost function of ``module`` whose body holds ``call`` (the same node: a call,
    or a query variable looped over)."""
    found: list[cst.FunctionDef] = []

    class _Find(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[cst.FunctionDef] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is call and self.stack:
                found.append(self.stack[-1])
            return super().on_visit(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.append(node)

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.stack.pop()

    module.visit(_Find())
    return found[0] if found else None


def _bound_to(func: cst.FunctionDef, call: cst.BaseExpression) -> set[str]:
    """Names ``call``'s result is bound to in ``func``: ``x = call(...)``, ``for x in call(...)``
    (a row each), ``[... for x in call(...)]``."""
    names: set[str] = set()

    class _Bind(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if node.value is call:
                names.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if node.value is call and isinstance(node.target, cst.Name):
                names.add(node.target.value)

        def visit_For(self, node: cst.For) -> None:
            if node.iter is call and isinstance(node.target, cst.Name):
                names.add(node.target.value)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            if node.iter is call and isinstance(node.target, cst.Name):
                names.add(node.target.value)

    func.visit(_Bind())
    return names


def _aliases(func: cst.FunctionDef, names: set[str]) -> set[str]:
    """``names`` and the names that hold the same rows in ``func``: ``for x in name``,
    ``[... for x in name]``, ``x = name`` (a row read from a list is a copy too)."""
    found = set(names)

    class _Alias(cst.CSTVisitor):
        def _take(self, target: cst.CSTNode, value: cst.CSTNode | None) -> None:
            if (
                isinstance(value, cst.Name)
                and value.value in found
                and isinstance(target, cst.Name)
                and target.value not in found
            ):
                found.add(target.value)
                self.grew = True

        def visit_For(self, node: cst.For) -> None:
            self._take(node.target, node.iter)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            self._take(node.target, node.iter)

        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                self._take(t.target, node.value)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._take(node.target, node.value)

    while True:  # until no name is added (``rows`` -> ``row`` -> ``chosen``)
        visitor = _Alias()
        visitor.grew = False
        func.visit(visitor)
        if not visitor.grew:
            return found


def _local_sets(func: cst.FunctionDef) -> set[str]:
    """Names ``func`` binds only to a new set (``roles = set()``, ``{a}``, a set
    comprehension): ``name.add(row)`` puts a row in a collection, not in a session."""
    sets: set[str] = set()
    other: set[str] = set()

    class _Bind(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            value = node.value
            new = isinstance(value, (cst.Set, cst.SetComp)) or (
                isinstance(value, cst.Call) and dotted(value.func) == "set"
            )
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    (sets if new else other).add(t.target.value)

        def visit_Param(self, node: cst.Param) -> None:
            other.add(node.name.value)

    func.visit(_Bind())
    return sets - other


#: how many relationships deep a read-only copy follows (``row.a.b.col``)
RELATED_DEPTH = 3


class _Chains(cst.CSTVisitor):
    """Attribute chains read from names bound to a row (``row.a.b`` -> ("a", "b")), each with
    how it is used: "read", "call" (a method), "set" (assigned), "bind:<name>" (``name = ...``),
    "test" (``if row.a:``, ``row.a is None``) or "for:<name>" (looped)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.chains: list[tuple[tuple[str, ...], str]] = []
        self._how: dict[int, str] = {}

    def visit_Call(self, node: cst.Call) -> None:
        self._how.setdefault(id(node.func), "call")

    def _test(self, node: cst.BaseExpression) -> None:
        """``if row.rel:``, ``not row.rel``, ``row.rel is None``: a copy answers those."""
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            node = node.expression
        if isinstance(node, cst.BooleanOperation):
            self._test(node.left)
            self._test(node.right)
        elif isinstance(node, cst.Comparison) and all(
            isinstance(c.operator, (cst.Is, cst.IsNot))
            and isinstance(c.comparator, cst.Name)
            and c.comparator.value == "None"
            for c in node.comparisons
        ):
            self._how[id(node.left)] = "test"
        else:
            self._how.setdefault(id(node), "test")

    def visit_If(self, node: cst.If) -> None:
        self._test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._test(node.test)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._how[id(node.value)] = f"bind:{node.targets[0].target.value}"

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._how[id(node.target)] = "set"

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._how[id(node.target)] = "set"

    def visit_For(self, node: cst.For) -> None:
        if isinstance(node.target, cst.Name):
            self._how[id(node.iter)] = f"for:{node.target.value}"

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if isinstance(node.target, cst.Name):
            self._how[id(node.iter)] = f"for:{node.target.value}"

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        path: list[str] = []
        current: cst.BaseExpression = node
        while isinstance(current, cst.Attribute):
            path.append(current.attr.value)
            current = current.value
        if isinstance(current, cst.Name) and current.value in self.names:
            self.chains.append((tuple(reversed(path)), self._how.get(id(node), "read")))
            return False
        return True


#: builtin types a row is never an instance of
_BUILTIN_TYPES = frozenset(
    "int str float bool bytes bytearray complex dict list tuple set frozenset".split()
)


def _elements(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The types ``isinstance`` is given: the elements of a tuple, or the one type."""
    if isinstance(node, cst.Tuple):
        return [e.value for e in node.elements]
    return [node]


#: methods that can make a row false
_FALSY = {"__bool__", "__len__", "__nonzero__"}


class _RowUses(cst.CSTVisitor):
    """What a function does with names bound to a row: attributes read, attributes changed,
    the row handed to a session (``add``/``delete``/``merge``). ``hasattr(row, "col")`` and
    ``getattr(row, "col", d)`` read ``col``; ``row is None`` and, for a ``truthy`` model, a
    test of the row (``if row``, ``x if row else y``, ``not row``) are answered alike by a
    copy, which is never None and always true."""

    def __init__(
        self, names: set[str], sets: frozenset[str] = frozenset(), truthy: bool = False
    ) -> None:
        self.names = names
        self.truthy = truthy
        self.sets = sets  # local names that hold a set, not a session (``_local_sets``)
        self.read: set[str] = set()
        self.changed = ""
        self.written = ""
        self.set_attrs: set[str] = set()  # attributes changed
        self.write_ops: set[str] = set()  # session methods it is handed to
        self.bare = 0  # uses of a name other than ``name.attribute``
        self._targets: set[int] = set()

    def _mark(self, target: cst.BaseExpression) -> None:
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value in self.names
        ):
            self._targets.add(id(target))
            self.set_attrs.add(target.attr.value)
            self.changed = self.changed or f"{target.value.value}.{target.attr.value} = ..."

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._mark(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._mark(node.target)

    def _tested(self, test: cst.BaseExpression) -> None:
        """``if row`` / ``if not row``: not a use of the row as a whole (see the class)."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test = test.expression
        if self.truthy and isinstance(test, cst.Name) and test.value in self.names:
            self.bare -= 1

    def _row_call(self, test: cst.BaseExpression, func: str) -> cst.Call | None:
        """``test`` when it is ``func(row, x)`` of one of the names."""
        if (
            isinstance(test, cst.Call)
            and dotted(test.func) == func
            and len(test.args) == 2
            and isinstance(test.args[0].value, cst.Name)
            and test.args[0].value.value in self.names
        ):
            return test
        return None

    def _has_test(self, test: cst.BaseExpression) -> bool:
        """``hasattr(row, "col")``: true for the row and its copy when ``col`` is a column
        (``_misuse`` checks that it is one), so the other branch is not done to the row."""
        call = self._row_call(test, "hasattr")
        return call is not None and isinstance(call.args[1].value, cst.SimpleString)

    def _has_branch(self, node: cst.If | cst.IfExp) -> bool:
        """Note the test; under ``hasattr(row, "col")`` visit only the test and the branch
        taken (see ``_has_test``), and say so."""
        self._tested(node.test)
        if not self._has_test(node.test):
            return False
        node.test.visit(self)
        node.body.visit(self)
        return True

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        return not self._has_branch(node)

    def visit_While(self, node: cst.While) -> None:
        self._tested(node.test)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if (
            isinstance(node.left, cst.Name)
            and node.left.value in self.names
            and len(node.comparisons) == 1
            and isinstance(node.comparisons[0].operator, (cst.Is, cst.IsNot))
            and isinstance(node.comparisons[0].comparator, cst.Name)
            and node.comparisons[0].comparator.value == "None"
        ):
            self.bare -= 1

    def visit_If(self, node: cst.If) -> bool:
        """``if isinstance(user, int): str(user)``: a row (or its read-only copy) is never a
        builtin value, so what that branch does with the name is not done to the row."""
        if self._has_branch(node):
            return False
        call = self._row_call(node.test, "isinstance")
        if call is not None and all(
            isinstance(t, cst.Name) and t.value in _BUILTIN_TYPES
            for t in _elements(call.args[1].value)
        ):
            if node.orelse is not None:
                node.orelse.visit(self)
            return False
        return True

    def visit_Call(self, node: cst.Call) -> None:
        if (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("add", "delete", "merge", "refresh", "expunge")
            and not (isinstance(node.func.value, cst.Name) and node.func.value.value in self.sets)
            and any(
                isinstance(a.value, cst.Name) and a.value.value in self.names for a in node.args
            )
        ):
            self.written = self.written or f"{dotted(node.func)}(...)"
            self.write_ops.add(node.func.attr.value)
        first = node.args[0].value if node.args else None
        if dotted(node.func) == "isinstance" and isinstance(first, cst.Name):
            self.bare -= first.value in self.names  # a read model answers it (ReadRow)
        attr = node.args[1].value if len(node.args) in (2, 3) else None
        if (
            dotted(node.func) in ("hasattr", "getattr")
            and isinstance(first, cst.Name)
            and first.value in self.names
            and isinstance(attr, cst.SimpleString)
            and not any(a.keyword or a.star for a in node.args)
        ):
            self.bare -= 1
            self.read.add(str(attr.evaluated_value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in self.names:
            self.bare -= 1  # counted again by visit_Name
            if id(node) not in self._targets:
                self.read.add(node.attr.value)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.bare += 1


# -- the codemod ------------------------------------------------------------------------------
#: the function a FastAPI route or router takes as a dependency: ``Depends(get_user)``
_DEPENDS = re.compile(r"\b(?:Depends|Security)\(\s*(\w+)\s*[,)]")


class ImportRewriter(cst.CSTTransformer):
    """Point imports of other services' code at the generated client modules."""

    def __init__(
        self,
        module: str,
        tree: SourceTree,
        redirects: dict[str, str],
        has: Callable[[str, str | None], bool],
    ) -> None:
        # redirects: target module -> "interservice.<client>"; has(module, name): importable here
        self.module = module
        self.tree = tree
        self.redirects = redirects
        self.has = has
        self.changed = 0

    def leave_ImportFrom(
        self, original: cst.ImportFrom, updated: cst.ImportFrom
    ) -> cst.ImportFrom | cst.FlattenSentinel | cst.RemovalSentinel:
        if isinstance(updated.names, cst.ImportStar):
            return updated
        from migrator.extraction.source import resolve_relative

        base = resolve_relative(
            self.module,
            self.tree.is_package(self.module),
            len(updated.relative),
            dotted(updated.module) if updated.module else "",
        )
        if base is None:
            return updated
        groups: dict[str, list[cst.ImportAlias]] = {}
        order: list[str] = []
        for alias in updated.names:
            name = dotted(alias.name)
            tm, tn = self.tree.resolve(base, name)
            here = self.has(tm, tn)
            if tn is None and not here and tm in self.redirects:  # ``from pkg import module``
                target = self.redirects[tm]
                pkg, _, leaf = target.rpartition(".")
                new_alias = alias.with_changes(
                    name=cst.Name(leaf), asname=alias.asname or cst.AsName(name=cst.Name(name))
                )
                if leaf == name:
                    new_alias = new_alias.with_changes(asname=alias.asname)
                key = f"pkg:{pkg}"
                alias = new_alias
            elif tn is not None and not here and tm in self.redirects:
                key = self.redirects[tm]
                if name != tn:
                    alias = alias.with_changes(
                        name=cst.Name(tn), asname=alias.asname or cst.AsName(name=cst.Name(name))
                    )
            elif tn is not None and here and tm != base and not self.has(base, name):
                key = tm  # a re-export through a module this service does not have
                if name != tn:
                    alias = alias.with_changes(
                        name=cst.Name(tn), asname=alias.asname or cst.AsName(name=cst.Name(name))
                    )
            else:
                key = ""
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        if order == [""]:
            return updated
        self.changed += 1
        statements = []
        for key in order:
            aliases = _commas(groups[key])
            if key == "":
                statements.append(updated.with_changes(names=aliases))
                continue
            module = key[4:] if key.startswith("pkg:") else key
            statements.append(
                cst.ImportFrom(
                    module=cst.parse_expression(module),  # type: ignore[arg-type]
                    names=aliases,
                    relative=[],
                    lpar=updated.lpar if len(aliases) > 1 else None,
                    rpar=updated.rpar if len(aliases) > 1 else None,
                )
            )
        if len(statements) == 1:
            return statements[0]
        return cst.FlattenSentinel(statements)

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel:
        """One import per line when a rewrite split a ``from`` import in two."""
        if len(updated.body) <= len(original.body):
            return updated
        lines = [
            cst.SimpleStatementLine([small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])
            for small in updated.body
        ]
        lines[0] = lines[0].with_changes(leading_lines=updated.leading_lines)
        return cst.FlattenSentinel(lines)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """``import_module("pkg.other_service.mod")`` loads the client module instead."""
        if dotted(updated.func).split(".")[-1] != "import_module" or not updated.args:
            return updated
        first = updated.args[0].value
        if not isinstance(first, cst.SimpleString):
            return updated
        target = first.evaluated_value
        if not isinstance(target, str) or target not in self.redirects or self.has(target, None):
            return updated
        self.changed += 1
        new = cst.SimpleString(repr(self.redirects[target]).replace("'", '"'))
        return updated.with_changes(
            args=[updated.args[0].with_changes(value=new), *updated.args[1:]]
        )

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.BaseSmallStatement:
        out = []
        changed = False
        for alias in updated.names:
            full = dotted(alias.name)
            if alias.asname is not None and full in self.redirects and not self.has(full, None):
                out.append(alias.with_changes(name=cst.parse_expression(self.redirects[full])))
                changed = True
            else:
                out.append(alias)
        if not changed:
            return updated
        self.changed += 1
        return updated.with_changes(names=_commas(out))


def _commas(aliases: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
    out = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in aliases
    ]
    out[-1] = out[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return out


class KernelGuard(cst.CSTTransformer):
    """Wrap a kernel module's imports of service code in ``try/except ImportError``."""

    def __init__(self, module: str, tree: SourceTree, layout: Layout) -> None:
        self.module = module
        self.tree = tree
        self.layout = layout
        self.guarded: list[str] = []

    def _foreign(self, stmt: cst.SimpleStatementLine) -> list[str] | None:
        from migrator.extraction.source import resolve_relative

        if len(stmt.body) != 1:
            return None
        small = stmt.body[0]
        bindings: list[str] = []
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            base = resolve_relative(
                self.module,
                self.tree.is_package(self.module),
                len(small.relative),
                dotted(small.module) if small.module else "",
            )
            if base is None:
                return None
            foreign = False
            for alias in small.names:
                name = dotted(alias.name)
                tm, tn = self.tree.resolve(base, name)
                if tm in self.tree.files and not self.layout.has(KERNEL, tm, tn):
                    foreign = True
                bindings.append(
                    cst.ensure_type(alias.asname.name, cst.Name).value if alias.asname else name
                )
            return bindings if foreign else None
        if isinstance(small, cst.Import):
            foreign = False
            for alias in small.names:
                full = dotted(alias.name)
                if full in self.tree.files and not self.layout.has(KERNEL, full):
                    foreign = True
                bindings.append(
                    cst.ensure_type(alias.asname.name, cst.Name).value
                    if alias.asname
                    else full.split(".")[0]
                )
            return bindings if foreign else None
        return None

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        bindings = self._foreign(updated)
        if not bindings:
            return updated
        self.guarded.append(
            cst.Module([]).code_for_node(updated.with_changes(leading_lines=[])).strip()
        )
        fallback = cst.parse_statement(" = ".join([*bindings, "None"]) + "\n")
        handler = cst.ExceptHandler(
            body=cst.IndentedBlock([fallback]),
            type=cst.Name("ImportError"),
            whitespace_after_except=cst.SimpleWhitespace(" "),
        )
        return cst.Try(
            body=cst.IndentedBlock(
                [updated.with_changes(leading_lines=[])],
                header=cst.TrailingWhitespace(
                    comment=cst.Comment("# migrator: service code, absent from some services")
                ),
            ),
            handlers=[handler],
            leading_lines=updated.leading_lines,
        )
