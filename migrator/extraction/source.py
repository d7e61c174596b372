"""What extraction needs to know about the monolith's source, read with libcst (never imported).

``SourceTree`` maps module names to files under the source root and parses each file once into
``ModuleInfo``: top-level definitions, imports resolved to absolute modules, and per class whether
it is an ORM model (and its table and columns), a dataclass or an exception; per function its
signature as source text.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from migrator.analysis.collect import absolute_import
from migrator.analysis.discover import PathError, discover, project_root
from migrator.extraction.mover import dotted
from migrator.util.fs import read_text, refusal

#: the largest source or data file extraction reads or copies into a service
MAX_COPY_BYTES = 64 * 1024 * 1024
BUILTIN_EXCEPTIONS = {
    n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
}


@dataclass
class Param:
    name: str
    annotation: str | None
    default: str | None
    kind: str  # "pos" | "kw" | "varargs" | "varkw" | "posonly"


@dataclass
class FunctionInfo:
    name: str
    line: int
    params: list[Param]
    returns: str | None
    is_async: bool
    node: cst.FunctionDef
    body_code: str


@dataclass
class ClassInfo:
    name: str
    line: int
    bases: list[str]
    decorators: list[str]
    table: str | None  # ``__tablename__`` when it is an ORM model
    columns: dict[str, str]  # attribute -> python type text (for suggested data-transfer shapes)
    node: cst.ClassDef


@dataclass
class ImportInfo:
    binding: str  # local name bound
    module: str  # absolute module imported from (or the module imported)
    name: str | None  # the imported name for ``from m import name``; None for ``import m``
    line: int
    lazy: bool


@dataclass
class ModuleInfo:
    name: str
    path: Path
    is_package: bool
    source: str
    module: cst.Module
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    variables: dict[str, int] = field(default_factory=dict)
    imports: list[ImportInfo] = field(default_factory=list)

    def defines(self, name: str) -> bool:
        return name in self.functions or name in self.classes or name in self.variables


def _django_table(module: str, node: cst.ClassDef) -> str:
    """A Django model's table: ``Meta.db_table``, else ``<app label>_<model name>`` (the app
    being the package that holds its ``models`` module or package)."""
    for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else []:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Meta":
            for line in stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else []:
                for small in getattr(line, "body", []):
                    if (
                        isinstance(small, cst.Assign)
                        and isinstance(small.value, cst.SimpleString)
                        and dotted(small.targets[0].target) == "db_table"
                    ):
                        return str(small.value.evaluated_value)
    parts = module.split(".")
    app = parts[parts.index("models") - 1] if "models" in parts[1:] else parts[-1]
    return f"{app}_{node.name.value.lower()}"


def _code(node: cst.CSTNode | None) -> str | None:
    return None if node is None else cst.Module([]).code_for_node(node)


_SQL_TYPES = {
    "Integer": "int",
    "BigInteger": "int",
    "SmallInteger": "int",
    "String": "str",
    "Text": "str",
    "Unicode": "str",
    "Boolean": "bool",
    "Float": "float",
    "Numeric": "Decimal",
    "DateTime": "datetime",
    "Date": "date",
    "JSON": "dict",
    "Enum": "str",
}


class _Facts(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.depth = 0

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if self.depth == 0:
            params: list[Param] = []
            p = node.params
            for kind, group in (
                ("posonly", p.posonly_params),
                ("pos", p.params),
                ("kw", p.kwonly_params),
            ):
                for prm in group:
                    params.append(
                        Param(
                            prm.name.value,
                            _code(prm.annotation.annotation) if prm.annotation else None,
                            _code(prm.default),
                            kind,
                        )
                    )
            if isinstance(p.star_arg, cst.Param):
                params.append(Param(p.star_arg.name.value, None, None, "varargs"))
            if p.star_kwarg is not None:
                params.append(Param(p.star_kwarg.name.value, None, None, "varkw"))
            self.info.functions[node.name.value] = FunctionInfo(
                node.name.value,
                self._line(node),
                params,
                _code(node.returns.annotation) if node.returns else None,
                node.asynchronous is not None,
                node,
                _code(node.body) or "",
            )
        self.depth += 1
        return True

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if self.depth == 0:
            table = None
            columns: dict[str, str] = {}
            for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else []:
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target = small.targets[0].target
                        if (
                            isinstance(target, cst.Name)
                            and target.value == "__tablename__"
                            and isinstance(small.value, cst.SimpleString)
                        ):
                            table = str(small.value.evaluated_value)
                        elif (
                            isinstance(target, cst.Name)
                            and isinstance(small.value, cst.Call)
                            and dotted(small.value.func).split(".")[-1] == "Column"
                        ):
                            columns[target.value] = _column_type(small.value)
                    elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        ann = _code(small.annotation.annotation) or ""
                        head, _, inner = ann.partition("[")
                        if head.split(".")[-1] == "Mapped" and inner.endswith("]"):
                            inner = inner[:-1].strip("\"'")
                            columns[small.target.value] = (
                                inner.split(".")[-1]
                                if inner.count(".") == 1 and "[" not in inner
                                else inner
                            )
            bases = [dotted(a.value) for a in node.bases]
            if table is None and any(
                b in ("models.Model", "django.db.models.Model") for b in bases
            ):
                table = _django_table(self.info.name, node)
            self.info.classes[node.name.value] = ClassInfo(
                node.name.value,
                self._line(node),
                [dotted(a.value) for a in node.bases],
                [
                    dotted(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
                    for d in node.decorators
                ],
                table,
                columns,
                node,
            )
        self.depth += 1
        return True

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.depth == 0:
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    self.info.variables.setdefault(t.target.value, self._line(node))
        # ``x = importlib.import_module("pkg.mod")``: an import under another name
        value = node.value
        if (
            isinstance(value, cst.Call)
            and dotted(value.func).split(".")[-1] == "import_module"
            and value.args
            and isinstance(value.args[0].value, cst.SimpleString)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
        ):
            target = value.args[0].value.evaluated_value
            if isinstance(target, str) and not target.startswith("."):
                self.info.imports.append(
                    ImportInfo(
                        node.targets[0].target.value, target, None, self._line(node), self.depth > 0
                    )
                )

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.depth == 0 and isinstance(node.target, cst.Name):
            self.info.variables.setdefault(node.target.value, self._line(node))

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted(alias.name)
            binding = (
                cst.ensure_type(alias.asname.name, cst.Name).value
                if alias.asname
                else full.split(".")[0]
            )
            self.info.imports.append(
                ImportInfo(binding, full, None, self._line(node), self.depth > 0)
            )

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        base = resolve_relative(
            self.info.name,
            self.info.is_package,
            len(node.relative),
            dotted(node.module) if node.module else "",
        )
        if base is None or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = dotted(alias.name)
            binding = cst.ensure_type(alias.asname.name, cst.Name).value if alias.asname else name
            self.info.imports.append(
                ImportInfo(binding, base, name, self._line(node), self.depth > 0)
            )


def _column_type(call: cst.Call) -> str:
    for arg in call.args:
        name = dotted(arg.value.func if isinstance(arg.value, cst.Call) else arg.value)
        if name.split(".")[-1] in _SQL_TYPES:
            return _SQL_TYPES[name.split(".")[-1]]
    return (
        "int"
        if any(
            dotted(a.value.func).endswith("ForeignKey")
            for a in call.args
            if isinstance(a.value, cst.Call)
        )
        else "str"
    )


def resolve_relative(module: str, is_package: bool, level: int, target: str) -> str | None:
    """Absolute module for ``from <dots><target> import ...`` written in ``module``, as the
    analyser resolves it (None when the dots climb above the top-level package)."""
    package = module if is_package else module.rpartition(".")[0]
    return absolute_import(package, level, target) or None


#: data files never moved into a service: compiled code, stubs and local databases
_NOT_DATA = (".pyc", ".pyo", ".pyi", ".db", ".sqlite", ".sqlite3")


class SourceTree:
    """The monolith's modules of the named top-level packages, and their data files, as the
    analyser's discovery finds them under ``root`` (the import root, a package, a project with
    a ``src/`` layout): the same folders skipped, .gitignored files too."""

    def __init__(self, root: str | Path, packages: list[str]) -> None:
        self.root = Path(root).resolve()
        self.files: dict[str, Path] = {}
        self.data_files: dict[str, list[Path]] = {}  # top package -> non-Python files
        #: files left out because they are links out of the root, FIFOs or devices ("rel: why")
        self.refused: list[str] = []
        self._cache: dict[str, ModuleInfo] = {}
        wanted = set(packages)
        try:
            start = project_root(self.root) or self.root  # a package: the project around it
            disc = discover(start, max_file_size=MAX_COPY_BYTES, data=True)
        except PathError:
            return
        for f in disc.files:
            if f.module.split(".")[0] in wanted and f.path.suffix == ".py":
                self.files[f.module] = f.path
        if not self.files:
            return
        # module names start here: the folder above the top-level package (``src/`` maybe)
        first = min(self.files)
        self.root = self.files[first].parents[first.count(".") + self.is_package(first)]
        for path in disc.data or ():
            top = self._top(path)
            if top in wanted and not path.name.endswith(_NOT_DATA):
                self.data_files.setdefault(top, []).append(path)
        for d in disc.diagnostics:
            path = disc.root / d.file
            if d.code in ("symlink-outside", "unreadable") and self._top(path) in wanted:
                why = refusal(path, self.root) or d.message
                self.refused.append(f"{path.relative_to(self.root).as_posix()}: {why}")

    def _top(self, path: Path) -> str | None:
        """The top-level package (or module) of a path under the import root."""
        parts = path.relative_to(self.root).parts if path.is_relative_to(self.root) else ()
        if len(parts) == 1:
            return parts[0][:-3] if parts[0].endswith(".py") else None
        return parts[0] if parts else None

    def modules(self) -> list[str]:
        return sorted(self.files)

    def is_package(self, module: str) -> bool:
        return self.files[module].name == "__init__.py"

    def rel(self, module: str) -> str:
        return self.files[module].relative_to(self.root).as_posix()

    def info(self, module: str) -> ModuleInfo:
        if module not in self._cache:
            path = self.files[module]
            source = read_text(path, root=self.root, max_bytes=MAX_COPY_BYTES)
            tree = cst.parse_module(source)
            info = ModuleInfo(module, path, path.name == "__init__.py", source, tree)
            MetadataWrapper(tree, unsafe_skip_copy=True).visit(_Facts(info))
            self._cache[module] = info
        return self._cache[module]

    def resolve(self, module: str, name: str, _depth: int = 0) -> tuple[str, str | None]:
        """Where ``from module import name`` really points: (module, symbol) or (submodule, None).

        Re-exports through ``__init__`` (and other modules) are followed to the definition.
        """
        sub = f"{module}.{name}"
        if module not in self.files:
            return (sub, None) if sub in self.files else (module, name)
        info = self.info(module)
        if info.defines(name):
            return module, name
        if _depth < 10:
            for imp in info.imports:
                if imp.binding == name and not imp.lazy:
                    if imp.name is None:
                        return imp.module, None
                    return self.resolve(imp.module, imp.name, _depth + 1)
        if sub in self.files:
            return sub, None
        return module, name

    def take_tables(self, tables: dict[str, str]) -> None:
        """Use the analyser's models (``module:Class`` -> table) instead of this module's own
        reading of ``__tablename__`` and Django's naming: the analyser's ORM plug-ins also know
        Flask-SQLAlchemy's and Django's implicit names, abstract models and mixins."""
        for m in self.modules():
            for c in self.info(m).classes.values():
                c.table = tables.get(f"{m}:{c.name}")
        self.__dict__.pop("models", None)

    @cached_property
    def models(self) -> dict[str, ClassInfo]:
        """``module:Class`` -> class info for every model (a class with a table)."""
        out = {}
        for m in self.modules():
            try:
                info = self.info(m)
            except (cst.ParserSyntaxError, UnicodeDecodeError, OSError):
                continue
            for c in info.classes.values():
                if c.table:
                    out[f"{m}:{c.name}"] = c
        return out

    @cached_property
    def exceptions(self) -> frozenset[str]:
        return frozenset(self.exception_classes())

    def exception_classes(self) -> set[str]:
        """``module:Class`` of every class that derives (statically) from an exception."""
        known: set[str] = set()
        changed = True
        while changed:
            changed = False
            for m in self.modules():
                try:
                    info = self.info(m)
                except (cst.ParserSyntaxError, UnicodeDecodeError, OSError):
                    continue
                for c in info.classes.values():
                    key = f"{m}:{c.name}"
                    if key in known:
                        continue
                    for base in c.bases:
                        last = base.split(".")[-1]
                        target = (
                            self.resolve(m, base)
                            if "." not in base and not info.defines(base)
                            else (m, base)
                        )
                        if (
                            last in BUILTIN_EXCEPTIONS
                            or f"{target[0]}:{target[1]}" in known
                            or f"{m}:{last}" in known
                        ):
                            known.add(key)
                            changed = True
                            break
        return known
