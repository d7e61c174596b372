"""Database per service: cut the ORM links that would cross into another service's database.

In a service, a model keeps its columns, but a ``ForeignKey`` to a table that another service
owns becomes a plain column (that database has no such table) and a ``relationship`` to another
service's model becomes a property that reads the row from the owner (many-to-one, key in the
class) or is removed. Each cut is recorded with file:line; the removed ones are data coupling a
person replaces with a call or a copy of the data; nothing silently queries across databases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from migrator.extraction.mover import dotted


@dataclass(frozen=True, order=True)
class Cut:
    file: str
    line: int
    model: str
    attribute: str
    kind: str  # "foreign-key" | "relationship"
    target: str  # table or model name
    owner: str  # service that owns the target


class _ModelCutter(cst.CSTTransformer):
    def __init__(
        self,
        foreign_tables: dict[str, str],
        foreign_models: dict[str, str],
        table_models: dict[str, str] | None = None,
        taken: set[tuple[str, str]] | None = None,
    ) -> None:
        self.foreign_tables = foreign_tables  # table -> owner
        self.foreign_models = foreign_models  # class name -> owner
        self.table_models = table_models or {}  # table -> class name of its model
        self.taken = taken or set()  # (model, name) a back reference already gives
        #: (model class, table) -> that model's column whose foreign key is ``<table>.id``
        self.reverse_keys: dict[tuple[str, str], str] = {}
        self.table: str | None = None  # ``__tablename__`` of the class being visited
        self._added: list[cst.FunctionDef] = []  # read properties for the class being left
        self.cuts: list[tuple[str, str, str, str, str]] = []  # model, attr, kind, target, owner
        self._class: list[str] = []
        self._attr: str | None = None
        self._fields: set[str] = set()
        #: (model, attribute) reached through a read model: relationships now properties, and
        #: the keys they read by
        self.read: set[tuple[str, str]] = set()
        self.keys: set[tuple[str, str]] = set()  # cut keys a generated property reads by

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class.append(node.name.value)
        self.table = _tablename(node)
        self._fields = {
            dotted(t.target)
            for stmt in getattr(node.body, "body", [])
            if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
            if isinstance(small, cst.Assign)
            for t in small.targets
        } | {
            dotted(small.target)
            for stmt in getattr(node.body, "body", [])
            if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
            if isinstance(small, cst.AnnAssign)
        }

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._class.pop()
        added, self._added = self._added, []
        if added and isinstance(updated.body, cst.IndentedBlock):
            blank = [cst.EmptyLine(indent=False)]
            body = [*updated.body.body, *(f.with_changes(leading_lines=blank) for f in added)]
            return updated.with_changes(body=updated.body.with_changes(body=body))
        return updated

    def _key_read(self, model: str, attr: str, target: str, owner: str) -> None:
        """``<name>_id`` whose foreign key was cut: a ``<name>`` property reads the row from
        the owner by that key (unless the class, or a back reference, has that name)."""
        name = attr[:-3] if attr.endswith("_id") else ""
        cls = target if target in self.foreign_models else self.table_models.get(target)
        if (
            not name.isidentifier()
            or cls is None
            or name in self._fields
            or (model, name) in self.taken
        ):
            return
        self._fields.add(name)
        self.read.add((model, name))
        self.keys.add((model, attr))
        self._added.append(_read_property(name, owner, cls))

    def _fk_target(self, node: cst.BaseExpression) -> str | None:
        if not (
            isinstance(node, cst.Call)
            and node.args
            and dotted(node.func).split(".")[-1] == "ForeignKey"
        ):
            return None
        first = node.args[0].value
        if isinstance(first, cst.SimpleString):
            table = str(first.evaluated_value).split(".")[0]
            return table if table in self.foreign_tables else None
        model = dotted(first).split(".")[0]  # ``ForeignKey(User.id)``
        return model if model in self.foreign_models else None

    def _owner_of(self, target: str) -> str:
        return self.foreign_tables.get(target) or self.foreign_models.get(target, "?")

    def _django_key(
        self, node: cst.BaseExpression, kinds: tuple[str, ...] = ("ForeignKey", "OneToOneField")
    ) -> str | None:
        """``models.ForeignKey(Model, ...)`` / ``OneToOneField("app.Model", ...)`` (or a
        subclass named so, or one of ``kinds``) to another service's model: that model's class
        name."""
        if not (
            isinstance(node, cst.Call)
            and node.args
            and node.args[0].keyword is None
            and dotted(node.func).split(".")[-1].endswith(kinds)
        ):
            return None
        first = node.args[0].value
        name = (
            str(first.evaluated_value) if isinstance(first, cst.SimpleString) else dotted(first)
        ).split(".")[-1]
        return name if name in self.foreign_models else None

    def _rel_target(self, node: cst.BaseExpression) -> str | None:
        if isinstance(node, cst.Call) and dotted(node.func).split(".")[-1] in (
            "relationship",
            "relation",
            "backref",
        ):
            for arg in node.args[:1]:
                if arg.keyword is not None:
                    continue
                value = arg.value
                name = (
                    str(value.evaluated_value)
                    if isinstance(value, cst.SimpleString)
                    else dotted(value)
                )
                name = name.split(".")[-1]
                if name in self.foreign_models:
                    return name
        return None

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        if not self._class or len(updated.body) != 1:
            return updated
        small = updated.body[0]
        if not isinstance(small, (cst.Assign, cst.AnnAssign)) or small.value is None:
            return updated
        target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
        attr = dotted(target)
        model = self._class[-1]
        django = self._django_key(small.value)
        if django is not None and isinstance(target, cst.Name):
            owner = self.foreign_models[django]
            self.cuts.append((model, attr, "foreign-key", django, owner))
            self._fields.discard(attr)  # the field is now ``<attr>_id``; ``attr`` reads the row
            self._key_read(model, f"{attr}_id", django, owner)
            return _django_key_field(updated, small, f"{attr}_id", django, owner)
        many = self._django_key(small.value, ("ManyToManyField",))
        if (
            many is not None
            and isinstance(small, cst.Assign)
            and isinstance(target, cst.Name)
            and _keyword(small.value, "through") is None
            and f"{attr}_ids" not in self._fields
        ):
            # many-to-many to another service's model: the keys in a list column of this row,
            # the rows read from the owner by them
            owner = self.foreign_models[many]
            self.cuts.append((model, attr, "relationship", many, owner))
            self.read.add((model, attr))
            self._added.append(_keys_property(attr, owner, many))
            return _django_keys_field(updated, small, f"{attr}_ids", many, owner)
        rel = self._rel_target(small.value)
        if (
            rel is None
            and isinstance(small, cst.AnnAssign)
            and isinstance(small.value, cst.Call)
            and dotted(small.value.func).split(".")[-1] in ("relationship", "relation")
        ):
            from migrator.extraction.mover import names_in

            # ``author: Mapped[User] = relationship(...)``: the target is in the annotation
            rel = next(
                (n for n in sorted(names_in(small.annotation)) if n in self.foreign_models), None
            )
        if rel is not None:
            owner = self.foreign_models[rel]
            if f"{attr}_id" in self._fields and not _many(small.value):
                # many-to-one with its key here: the row comes from the owner's read model
                self.cuts.append((model, attr, "relationship", rel, owner))
                self.read.add((model, attr))
                return _read_property(attr, owner, rel)
            link = _keyword(small.value, "secondary")
            if link is not None:
                # many-to-many through a link table of this service: the owner's rows whose
                # keys the link table holds for this row
                self.cuts.append((model, attr, "relationship", rel, owner))
                self.read.add((model, attr))
                return _linked_property(attr, owner, rel, link)
            back = _back_reference(small.value)
            key = self.reverse_keys.get((rel, self.table or ""))
            if back is None and key is not None and "id" in self._fields and not _single(small):
                # one-to-many without a back reference: the owner's rows whose foreign key
                # (found in the owner's model) holds this row's id
                self.cuts.append((model, attr, "relationship", rel, owner))
                self.read.add((model, attr))
                return _read_property(attr, owner, rel, many=key)
            if back is not None and "id" in self._fields:
                # one-to-many: the owner's rows whose key (named after the back reference)
                # is this row's id
                self.cuts.append((model, attr, "relationship", rel, owner))
                self.read.add((model, attr))
                return _read_property(attr, owner, rel, many=f"{back}_id")
            self.cuts.append((model, attr, "relationship", rel, owner))
            return cst.RemovalSentinel.REMOVE
        if isinstance(small.value, cst.Call):
            args = list(small.value.args)
            kept = []
            for arg in args:
                table = self._fk_target(arg.value)
                if table is not None:
                    self.cuts.append((model, attr, "foreign-key", table, self._owner_of(table)))
                    self._key_read(model, attr, table, self._owner_of(table))
                    continue
                kept.append(arg)
            if len(kept) != len(args):
                func = dotted(small.value.func).split(".")[-1]
                if func == "Column" and not any(a.keyword is None for a in kept):
                    kept.insert(
                        0, cst.Arg(cst.parse_expression("__import__('sqlalchemy').Integer"))
                    )
                if kept:
                    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                comment = cst.TrailingWhitespace(
                    whitespace=cst.SimpleWhitespace("  "),
                    comment=cst.Comment(
                        f"# migrator: foreign key to "
                        f"{self.cuts[-1][3]} ({self.cuts[-1][4]}) removed"
                    ),
                )
                new_value = small.value.with_changes(args=kept)
                return updated.with_changes(
                    body=[small.with_changes(value=new_value)], trailing_whitespace=comment
                )
        return updated


#: keywords of a Django foreign key that an integer column keeps
DJANGO_KEPT = {
    "null",
    "blank",
    "db_index",
    "db_column",
    "editable",
    "default",
    "verbose_name",
    "help_text",
    "unique",
    "primary_key",
}


def _django_key_field(
    line: cst.SimpleStatementLine,
    small: cst.Assign | cst.AnnAssign,
    column: str,
    target: str,
    owner: str,
) -> cst.SimpleStatementLine:
    """``x = models.ForeignKey(Other, ...)`` -> ``x_id = models.BigIntegerField(...)``: the
    same database column, no constraint into a database this service does not have."""
    call = cst.ensure_type(small.value, cst.Call)
    func = dotted(call.func)
    prefix = func.rpartition(".")[0] if "." in func else "__import__('django.db.models').db.models"
    args = [
        a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for a in call.args
        if a.keyword is not None and a.keyword.value in DJANGO_KEPT
    ]
    if "db_index" not in {a.keyword.value for a in args if a.keyword}:
        args.append(cst.ensure_type(cst.parse_expression("f(db_index=True)"), cst.Call).args[0])
    value = cst.Call(cst.parse_expression(f"{prefix}.BigIntegerField"), args=args)
    target_node = cst.Name(column)
    new = (
        small.with_changes(targets=[cst.AssignTarget(target_node)], value=value)
        if isinstance(small, cst.Assign)
        else small.with_changes(target=target_node, value=value)
    )
    comment = cst.TrailingWhitespace(
        whitespace=cst.SimpleWhitespace("  "),
        comment=cst.Comment(f"# migrator: foreign key to {target} ({owner}) cut to its key"),
    )
    return line.with_changes(body=[new], trailing_whitespace=comment)


def _class_assignments(node: cst.ClassDef) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(target, value) of each assignment at the top of a class body."""
    return [
        (small.targets[0].target if isinstance(small, cst.Assign) else small.target, small.value)
        for stmt in getattr(node.body, "body", [])
        for small in (stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [])
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None
    ]


def _tablename(node: cst.ClassDef) -> str | None:
    """``__tablename__ = "x"`` of a model class."""
    for target, value in _class_assignments(node):
        if dotted(target) == "__tablename__" and isinstance(value, cst.SimpleString):
            return str(value.evaluated_value)
    return None


def _single(line: cst.Assign | cst.AnnAssign) -> bool:
    """``uselist=False``: one row, not a collection."""
    return "uselist=False" in cst.Module([]).code_for_node(line).replace(" ", "")


def reverse_keys(classes: dict[str, cst.ClassDef]) -> dict[tuple[str, str], str]:
    """(model class name, table) -> the class's only column whose foreign key is
    ``<table>.id`` (``ForeignKey("table.id")``), for one-to-many relationships to it."""
    found: dict[tuple[str, str], list[str]] = {}
    for name, node in sorted(classes.items()):
        for target, value in _class_assignments(node):
            for arg in value.args if isinstance(value, cst.Call) else []:
                fk = arg.value
                if (
                    isinstance(fk, cst.Call)
                    and dotted(fk.func).split(".")[-1] == "ForeignKey"
                    and fk.args
                    and isinstance(fk.args[0].value, cst.SimpleString)
                    and isinstance(target, cst.Name)
                ):
                    table, _, column = str(fk.args[0].value.evaluated_value).partition(".")
                    if column == "id":
                        found.setdefault((name, table), []).append(target.value)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def _many(value: cst.BaseExpression) -> bool:
    """A relationship that holds a collection (``uselist=True`` or a ``lazy="dynamic"``)."""
    text = cst.Module([]).code_for_node(value).replace(" ", "")
    return "uselist=True" in text or "dynamic" in text


def _back_reference(value: cst.BaseExpression) -> str | None:
    """``back_populates="x"`` / ``backref="x"`` of a relationship call."""
    if isinstance(value, cst.Call):
        for arg in value.args:
            if (
                arg.keyword is not None
                and arg.keyword.value in ("back_populates", "backref")
                and isinstance(arg.value, cst.SimpleString)
            ):
                return str(arg.value.evaluated_value)
    return None


def _keyword(value: cst.BaseExpression, name: str) -> cst.BaseExpression | None:
    """The ``name=`` argument of a call."""
    if isinstance(value, cst.Call):
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg.value
    return None


def _django_keys_field(
    line: cst.SimpleStatementLine, small: cst.Assign, column: str, target: str, owner: str
) -> cst.SimpleStatementLine:
    """``x = models.ManyToManyField(Other, ...)`` -> ``x_ids = models.JSONField(default=list)``:
    the other rows' keys, kept in this service's database (the link table's rows move here)."""
    func = dotted(cst.ensure_type(small.value, cst.Call).func)
    prefix = func.rpartition(".")[0] if "." in func else "__import__('django.db.models').db.models"
    value = cst.parse_expression(f"{prefix}.JSONField(default=list, blank=True)")
    comment = cst.TrailingWhitespace(
        whitespace=cst.SimpleWhitespace("  "),
        comment=cst.Comment(f"# migrator: many-to-many to {target} ({owner}) cut to its keys"),
    )
    new = small.with_changes(targets=[cst.AssignTarget(cst.Name(column))], value=value)
    return line.with_changes(body=[new], trailing_whitespace=comment)


def _keys_property(attr: str, owner: str, model: str) -> cst.FunctionDef:
    """A Django many-to-many field cut to ``<attr>_ids``: the owner's rows of those keys."""
    code = "\n".join(
        [
            "@property",
            f"def {attr}(self):  # noqa: ANN201 - migrator: {model} is {owner}'s, read it there",
            "    from interservice.runtime import ReadModel",
            "",
            f"    return ReadModel({owner!r}, {model!r}).objects.filter(pk__in=self.{attr}_ids)",
            "",
        ]
    )
    return cst.ensure_type(cst.parse_statement(code), cst.FunctionDef)


def _linked_property(
    attr: str, owner: str, model: str, link: cst.BaseExpression
) -> cst.FunctionDef:
    """A many-to-many relationship through ``link`` (the link table, or its name) as a read
    of the owner's rows by the keys the link table holds (``runtime.linked_rows``)."""
    table = cst.Module([]).code_for_node(link)
    code = "\n".join(
        [
            "@property",
            f"def {attr}(self):  # noqa: ANN201 - migrator: {model} is {owner}'s, read it there",
            "    from interservice.runtime import linked_rows",
            "",
            f"    return linked_rows(self, {table}, {owner!r}, {model!r})",
            "",
        ]
    )
    return cst.ensure_type(cst.parse_statement(code), cst.FunctionDef)


def _read_property(attr: str, owner: str, model: str, many: str | None = None) -> cst.FunctionDef:
    """The relationship as a read: by this row's key (many-to-one) or, ``many`` naming the
    owner's key column, the owner's rows that point at this one (one-to-many)."""
    read = (
        [f"    return ReadModel({owner!r}, {model!r}).query.filter_by({many}=self.id).all()"]
        if many
        else [
            f"    key = self.{attr}_id",
            f"    return None if key is None else ReadModel({owner!r}, {model!r}).query.get(key)",
        ]
    )
    code = "\n".join(
        [
            "@property",
            f"def {attr}(self):  # noqa: ANN201 - migrator: {model} is {owner}'s, read it there",
            "    from interservice.runtime import ReadModel",
            "",
            *read,
            "",
        ]
    )
    return cst.ensure_type(cst.parse_statement(code), cst.FunctionDef)


def cut_foreign_links(
    code: str,
    foreign_tables: dict[str, str],
    foreign_models: dict[str, str],
    table_models: dict[str, str] | None = None,
    reverse: dict[tuple[str, str], str] | None = None,
) -> tuple[str, list[tuple[str, str, str, str, str, bool]]]:
    """Remove FKs to and relationships with other services' tables/models from model classes.

    A many-to-one relationship whose key column is in the class becomes a property that reads
    the row from the owner's read model, and so does a ``<name>_id`` key without one
    (``table_models``: table -> model class, to know what to read), and a one-to-many one
    without a back reference whose key the owner's model has (``reverse``, see reverse_keys);
    each cut says whether it was converted so."""
    if not foreign_tables and not foreign_models:
        return code, []
    module = cst.parse_module(code)
    # ``relationship("Target", backref="name")`` gives Target a ``name`` attribute
    taken = set(
        re.findall(
            r"relationship\(\s*[\"']?(\w+)[^()]*(?:\([^()]*\)[^()]*)*?"
            r"backref\s*=\s*(?:\w*\.?backref\(\s*)?[\"'](\w+)",
            code,
        )
    )
    cutter = _ModelCutter(foreign_tables, foreign_models, table_models, taken)
    cutter.reverse_keys = reverse or {}
    new = module.visit(cutter)
    keys = {(m, f"{a}_id") for m, a in cutter.read} | cutter.keys
    return new.code, [
        (*c, (c[0], c[1]) in cutter.read or (c[0], c[1]) in keys) for c in cutter.cuts
    ]


def attribute_spans(module: cst.Module) -> dict[tuple[str, str], tuple[int, int]]:
    """(class, attribute) -> first and last line of the statement that assigns that class
    attribute at the top level of ``module`` (where a cut link was written)."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for cls in module.body:
        if not isinstance(cls, cst.ClassDef):
            continue
        for stmt in getattr(cls.body, "body", []):
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else []:
                targets = (
                    [t.target for t in small.targets]
                    if isinstance(small, cst.Assign)
                    else [small.target]
                    if isinstance(small, cst.AnnAssign)
                    else []
                )
                span = positions[stmt]
                for target in targets:
                    if isinstance(target, cst.Name):
                        out[(cls.name.value, target.value)] = (span.start.line, span.end.line)
    return out


def database_env_names(sources: list[str]) -> list[str]:
    """Environment variables the monolith reads its database URL from (found in its config)."""
    names: set[str] = set()
    for text in sources:
        for match in re.finditer(
            r"[\"']((?:[A-Z][A-Z0-9_]*)?(?:DATABASE|DB)[A-Z0-9_]*)[\"']", text
        ):
            # a URL setting (``DB_URL``, ``SQLALCHEMY_DATABASE_URI``), never ``DB_PROVIDER``,
            # ``DB_PORT`` and the like, which a URL would break
            if re.search(r"(URL|URI|DSN)$", match.group(1)) or match.group(1) == "DATABASE":
                names.add(match.group(1))
    return sorted(names)


#: (target class name, the key column, kind) of one relationship of a model; kind: "one" (the
#: key column is on this row), "many" (the target's rows whose key holds this row's id) or
#: "back" (the one such row, ``uselist=False``)
Relation = tuple[str, str, str]


def relations(
    node: cst.ClassDef,
    table: str | None,
    reverse: dict[tuple[str, str], str],
    tables: dict[str, str] | None = None,
) -> dict[str, Relation]:
    """The relationships of a model class that a read-only copy of its row can read from the
    target's owner by a key: many-to-one with its key column in this class (``<attr>_id``,
    ``foreign_keys=[col]``, or its only column with a foreign key to the target's table in
    ``tables``: class name -> table), and one-to-many (or one-to-one, ``uselist=False``) where
    the target has exactly one foreign key to ``table`` (``reverse``, see reverse_keys).
    Many-to-many and anything else are left out."""
    assigned = _class_assignments(node) + declared_attrs(node)
    fields = {dotted(t) for t, _ in assigned}
    pointing: dict[str, list[str]] = {}  # table or class name -> this class's key columns
    for target, value in assigned:
        for arg in value.args if isinstance(value, cst.Call) else []:
            fk = arg.value
            if (
                isinstance(target, cst.Name)
                and isinstance(fk, cst.Call)
                and dotted(fk.func).split(".")[-1] == "ForeignKey"
                and fk.args
            ):
                first = fk.args[0].value
                to = (
                    str(first.evaluated_value)
                    if isinstance(first, cst.SimpleString)
                    else dotted(first)
                ).split(".")[0]
                pointing.setdefault(to, []).append(target.value)
    out: dict[str, Relation] = {}
    for target, value in assigned:
        if not (
            isinstance(target, cst.Name)
            and isinstance(value, cst.Call)
            and dotted(value.func).split(".")[-1] in ("relationship", "relation")
            and value.args
            and value.args[0].keyword is None
            and _keyword(value, "secondary") is None
        ):
            continue
        first = value.args[0].value
        rel = (
            str(first.evaluated_value) if isinstance(first, cst.SimpleString) else dotted(first)
        ).split(".")[-1]
        if not rel.isidentifier():
            continue
        attr = target.value
        keys = _keyword(value, "foreign_keys")
        named = {
            n.strip(" []\"'").split(".")[-1]
            for n in (cst.Module([]).code_for_node(keys) if keys is not None else "").split(",")
        } & fields
        text = cst.Module([]).code_for_node(value).replace(" ", "")
        theirs = _target_key(keys, rel) if rel != node.name.value else None
        if theirs is not None:  # ``foreign_keys="Target.col"``: the target's rows point here
            out[attr] = (rel, theirs, "back" if "uselist=False" in text else "many")
        elif keys is None and f"{attr}_id" in fields and not _many(value):
            out[attr] = (rel, f"{attr}_id", "one")
        elif len(named) == 1 and not _many(value):
            out[attr] = (rel, named.pop(), "one")
        elif (
            keys is None
            and not _many(value)
            and len(found := pointing.get((tables or {}).get(rel, ""), pointing.get(rel, []))) == 1
        ):
            out[attr] = (rel, found[0], "one")
        elif keys is None and table and (rel, table) in reverse:
            kind = "back" if "uselist=False" in text else "many"
            out[attr] = (rel, reverse[(rel, table)], kind)
    return out


def relationship_calls(node: cst.ClassDef) -> dict[str, tuple[str, cst.Call]]:
    """attribute -> (target class name, the ``relationship(Target, ...)`` call) of a class."""
    out: dict[str, tuple[str, cst.Call]] = {}
    for target, value in _class_assignments(node):
        if (
            isinstance(target, cst.Name)
            and isinstance(value, cst.Call)
            and dotted(value.func).split(".")[-1] in ("relationship", "relation")
            and value.args
            and value.args[0].keyword is None
        ):
            first = value.args[0].value
            name = (
                str(first.evaluated_value) if isinstance(first, cst.SimpleString) else dotted(first)
            ).split(".")[-1]
            if name.isidentifier():
                out[target.value] = (name, value)
    return out


def secondary_relations(node: cst.ClassDef) -> dict[str, str]:
    """Many-to-many relationships of a model class (``relationship(T, secondary=...)``):
    attribute -> target class name. Only the row's owner can read them (its association
    table), so a copy asks it when the target is that owner's too (``runtime.ReadRow``)."""
    return {
        attr: name
        for attr, (name, call) in relationship_calls(node).items()
        if _keyword(call, "secondary") is not None
    }


def _target_key(keys: cst.BaseExpression | None, rel: str) -> str | None:
    """The column of ``foreign_keys="Target.col"`` (or ``[Target.col]``) when it names one
    column of the relationship's target class ``rel``: its rows hold this row's key (not for
    a class pointing at itself, where ``remote_side`` decides the direction)."""
    if keys is None:
        return None
    text = cst.Module([]).code_for_node(keys).strip(" []\"'")
    cls, _, col = text.partition(".")
    return col if cls == rel and col.isidentifier() else None


def declared_attrs(node: cst.ClassDef) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(name, value) of each ``@declared_attr`` method of a (mixin) class that returns one
    expression: ``def project(cls): return relationship("Project")``."""
    out: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
    for stmt in getattr(node.body, "body", []):
        if isinstance(stmt, cst.FunctionDef) and any(
            dotted(d.decorator).split(".")[-1] == "declared_attr" for d in stmt.decorators
        ):
            returns = [
                small.value
                for line in getattr(stmt.body, "body", [])
                if isinstance(line, cst.SimpleStatementLine)
                for small in line.body
                if isinstance(small, cst.Return) and small.value is not None
            ]
            if len(returns) == 1:
                out.append((stmt.name, returns[0]))
    return out


def backrefs(
    node: cst.ClassDef,
    table: str | None,
    reverse: dict[tuple[str, str], str],
    tables: dict[str, str] | None = None,
) -> list[tuple[str, str, Relation]]:
    """``relationship(T, backref="b")`` in model class ``node`` (one that ``relations``
    resolves) also gives T a relationship ``b`` back to this class: (T, b, its relation)."""
    found = relations(node, table, reverse, tables)
    out: list[tuple[str, str, Relation]] = []
    for target, value in _class_assignments(node):
        back = _keyword(value, "backref")
        single = False
        if isinstance(back, cst.Call) and back.args:  # ``backref("b", uselist=False)``
            single = "uselist=False" in cst.Module([]).code_for_node(back).replace(" ", "")
            back = back.args[0].value
        if not (isinstance(target, cst.Name) and target.value in found):
            continue
        if isinstance(back, cst.SimpleString):
            rel, key, kind = found[target.value]
            theirs = "one" if kind != "one" else "back" if single else "many"
            out.append((rel, str(back.evaluated_value), (node.name.value, key, theirs)))
    return out
