"""Orchestration of ``scaffold --extract``: plan -> files (in memory) -> report.

``build_extraction`` computes every file (relative to OUT) without touching the disk, so the
generator can merge them into its own output and write everything through one manifest;
``extract`` does the same and writes the files itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper

from migrator.extraction import codegen, frameworks, hints, joins, ownreads, queries, writes
from migrator.extraction.data import (
    attribute_spans,
    cut_foreign_links,
    database_env_names,
    reverse_keys,
)
from migrator.extraction.layout import KERNEL, Layout, build_layout
from migrator.extraction.mover import (
    import_bindings,
    is_docstring,
    names_in,
    prune_imports,
    prune_unavailable,
    split_module,
)
from migrator.extraction.rewrite import (
    EFFECT,
    Analyzer,
    CallSite,
    Client,
    ImportRewriter,
    KernelGuard,
)
from migrator.extraction.source import MAX_COPY_BYTES, SourceTree
from migrator.extraction.splits import through_clients
from migrator.graph import DependencyGraph
from migrator.plan import Plan
from migrator.util.fs import FileError, atomic_write, out_folder, read_existing, read_regular
from migrator.util.names import dns_label, python_identifier

RUNTIME = Path(__file__).with_name("runtime.py")


class ExtractionError(ValueError):
    """Input that cannot be extracted; the message names the file and line."""


@dataclass
class Coupling:
    service: str
    file: str
    line: int
    uses: str  # module:Name of the other service (or table name)
    owner: str
    #: "model" | "model-class" | "annotation" | "table" | "foreign-key" | "relationship" | "import"
    kind: str
    converted: bool = False  # a read answered by the owner through a generated read model
    why: str = ""  # why a read of the model is not sent by a read model (when known)


@dataclass
class Extraction:
    files: dict[str, bytes] = field(default_factory=dict)
    calls: list[CallSite] = field(default_factory=list)
    couplings: list[Coupling] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    services: dict[str, dict] = field(default_factory=dict)  # per service: modules, app, clients

    @property
    def converted(self) -> int:
        return sum(1 for c in self.calls if c.converted)

    @property
    def fraction(self) -> float:
        return self.converted / len(self.calls) if self.calls else 1.0

    @property
    def uses(self) -> int:
        """Every reference from one service's code to another service's symbol or table."""
        return len(self.calls) + len(self.couplings)

    @property
    def converted_uses(self) -> int:
        """Uses the moved code reaches only through a generated client or read model."""
        return self.converted + sum(1 for c in self.couplings if c.converted)

    @property
    def uses_fraction(self) -> float:
        return self.converted_uses / self.uses if self.uses else 1.0

    def summary(self) -> dict:
        return {
            "calls": len(self.calls),
            "converted": self.converted,
            "fraction": round(self.fraction, 4),
            "uses": self.uses,
            "converted_uses": self.converted_uses,
            "uses_fraction": round(self.uses_fraction, 4),
            "couplings": len(self.couplings),
            "services": sorted(self.services),
        }

    def markdown(self) -> str:
        from migrator.extraction.report import markdown

        return markdown(self)


def _packages(plan: Plan) -> list[str]:
    nodes = [n for s in plan.services.values() for n in [*s.modules, *s.symbols]]
    nodes += [*plan.shared_kernel.modules, *plan.shared_kernel.symbols]
    return sorted({n.split(":")[0].split(".")[0] for n in nodes})


def build_extraction(
    plan: Plan,
    graph: DependencyGraph | None,
    source_root: str | Path,
    *,
    project: str | None = None,
) -> Extraction:
    """Compute every extracted file (paths relative to OUT) and the report."""
    root = Path(source_root)
    if not root.is_dir():
        raise ExtractionError(f"{root}:0: source root is not a directory")
    tree = SourceTree(root, _packages(plan))
    if not tree.files:
        raise ExtractionError(
            f"{root}:0: none of the plan's packages "
            f"({', '.join(_packages(plan))}) is under the source root"
        )
    for module in tree.modules():
        try:
            tree.info(module)
        except cst.ParserSyntaxError as exc:
            raise ExtractionError(
                f"{tree.files[module]}:{exc.raw_line}: cannot parse: {exc.message}"
            ) from None
        except UnicodeDecodeError as exc:
            raise ExtractionError(f"{tree.files[module]}:1: not UTF-8 ({exc.reason})") from None
        except FileError as exc:
            raise ExtractionError(str(exc)) from None
    if graph is not None and graph.tables:  # the analyser's ORM facts: it knows each ORM
        tree.take_tables({t.model: t.name for t in graph.tables.values() if t.model})
    framework = _framework(plan, graph, tree)
    django = (
        frameworks.django_settings_module({m: tree.info(m).source for m in tree.modules()})
        if framework == "django"
        else None
    )
    layout = build_layout(plan, tree, roots=[django[1]] if django else [])
    writers = {w for t in (graph.tables.values() if graph else []) for w in t.writers}
    factory, engine = _session_factory(tree, layout)
    analyzer = Analyzer(plan, tree, layout, writers, factory)
    ex = Extraction()
    ex.notes.extend(layout.notes)
    ex.notes.extend(f"{why}; not copied into any service" for why in tree.refused)
    for m in layout.unassigned:
        ex.notes.append(f"{tree.rel(m)}: not assigned by the plan; not carried into any service")
    for m in layout.roots:
        ex.notes.append(
            f"{tree.rel(m)}: composition root (app factory); every service gets a "
            "copy pruned to what it owns"
        )

    table_owner, model_owner = _owners(plan, tree, layout)
    env_names = database_env_names(
        [tree.info(m).source for m in layout.modules_of(KERNEL)]
        + [tree.info(m).source for m in layout.roots]
    )
    unit_of_work = _scoped_session(tree, layout)
    endpoint_names = _endpoint_names(plan, tree, analyzer)
    read_models = _read_models(tree, layout, model_owner, analyzer)
    name = dns_label(project or plan.meta.get("project") or tree.modules()[0].split(".")[0])

    for svc in sorted(plan.services):
        _service(
            ex,
            svc,
            plan,
            tree,
            layout,
            analyzer,
            table_owner,
            model_owner,
            endpoint_names,
            env_names,
            unit_of_work,
            (framework, django),
            read_models,
        )
        if engine is not None:
            ex.files[f"services/{dns_label(svc)}/src/interservice/sessions.py"] = sessions_module(
                engine
            ).encode("utf-8")
    _kernel(ex, name, tree, layout, graph)
    _data_coupling(ex, plan, graph, tree, layout, table_owner)
    ex.calls.sort(key=lambda c: (c.caller, c.file, c.line, c.callee))
    ex.couplings = sorted(
        {
            (c.service, c.file, c.line, c.uses, c.owner, c.kind, c.converted): c
            for c in ex.couplings
        }.values(),
        key=lambda c: (c.service, c.file, c.line, c.uses, c.kind),
    )
    ex.files["EXTRACTION.md"] = ex.markdown().encode("utf-8")
    ex.files["extraction.json"] = (json.dumps(_json(ex), indent=2, sort_keys=True) + "\n").encode(
        "utf-8"
    )
    return ex


def _owners(plan: Plan, tree: SourceTree, layout: Layout) -> tuple[dict[str, str], dict[str, str]]:
    table_owner = {t: s for s, svc in sorted(plan.services.items()) for t in svc.tables}
    model_owner: dict[str, str] = {}
    for key, cls in sorted(tree.models.items()):
        mod, name = key.split(":")
        owner = layout.owner(mod, name)
        if owner is None and mod in layout.whole:
            owner = layout.whole[mod]
        if owner is not None:
            model_owner[key] = owner
            if cls.table and cls.table not in table_owner and owner != KERNEL:
                table_owner[cls.table] = owner
    return table_owner, model_owner


def _everywhere(layout: Layout, module: str, name: str) -> bool:
    """Importable in every service (kernel code, or the kernel's part of a split module, which
    each service's copy of that module keeps)."""
    return all(layout.has(svc, module, name) for svc in layout.services)


def _kernel_assigned(tree: SourceTree, layout: Layout, func: str) -> str | None:
    """``module:name`` of the first name every service has that is bound to a call of
    ``func``."""
    return next(
        (
            f"{m}:{n}"
            for m in tree.modules()
            for n in _assigned_calls(tree, m, func)
            if _everywhere(layout, m, n)
        ),
        None,
    )


def _scoped_session(tree: SourceTree, layout: Layout) -> str | None:
    """``module:name`` of a kernel ``scoped_session``: the unit of work of internal calls."""
    return _kernel_assigned(tree, layout, "scoped_session")


SESSIONS = "interservice.sessions:factory"


def _session_factory(tree: SourceTree, layout: Layout) -> tuple[str | None, str | None]:
    """(``module:name`` of a session factory every service can import, the kernel engine a
    generated ``interservice/sessions.py`` binds one to): an internal call opens its own
    session with it where the caller passed its own."""
    found = _scoped_session(tree, layout) or _kernel_assigned(tree, layout, "sessionmaker")
    if found:
        return found, None
    for m in tree.modules():  # else a sessionmaker bound to the kernel's engine
        for stmt in tree.info(m).module.body:
            for small in (
                getattr(stmt, "body", []) if isinstance(stmt, cst.SimpleStatementLine) else []
            ):
                if (
                    isinstance(small, cst.Assign)
                    and isinstance(small.value, cst.Call)
                    and isinstance(small.targets[0].target, cst.Name)
                    and "engine" in cst.Module([]).code_for_node(small.value.func).split(".")[-1]
                    and _everywhere(layout, m, small.targets[0].target.value)
                ):
                    return SESSIONS, f"{m}:{small.targets[0].target.value}"
    return None, None


def sessions_module(engine: str) -> str:
    module, name = engine.split(":")
    return (
        codegen.HEADER + '"""Sessions of this service\'s own database for internal calls '
        '(generated by migrator)."""\n\nfrom sqlalchemy.orm import sessionmaker\n\n'
        f"from {module} import {name} as _engine\n\nfactory = sessionmaker(bind=_engine)\n"
    )


def _read_models(
    tree: SourceTree, layout: Layout, model_owner: dict[str, str], analyzer: Analyzer
) -> dict[str, dict[str, str]]:
    """Per owning service, its models that other services' code imports or relates to (model
    name -> module:Class), and those a read-only copy of any row may read through a
    relationship (``Analyzer.relations_of``): each gets a ``_read.<Model>`` endpoint."""
    by_name = {k.split(":")[1]: k for k in sorted(model_owner, reverse=True)}
    tables = _table_models(tree, model_owner)
    wanted: set[str] = set()
    for module in tree.modules():
        here = layout.whole.get(module)
        info = tree.info(module)
        for imp in info.imports:
            if imp.name is not None:
                key = ":".join(str(p) for p in tree.resolve(imp.module, imp.name))
                if model_owner.get(key) not in (None, KERNEL, here):
                    wanted.add(key)
        for cls in info.classes.values():  # relationship("Model") and keys between models
            mine = model_owner.get(f"{module}:{cls.name}")
            code = cst.Module([]).code_for_node(cls.node)
            names = re.findall(r"relationship\(\s*[\"']?(\w+)", code) + [
                tables.get(t, t) for t in re.findall(r"ForeignKey\(\s*[\"']?(\w+)", code)
            ]
            for name in names:
                key = by_name.get(name, "")
                if mine is not None and model_owner.get(key) not in (None, KERNEL, mine):
                    wanted.add(key)
    for key in sorted(model_owner):
        for target, _fk, kind in analyzer.relations_of(key).values():
            wanted.update((target, key) if kind == "via" else (target,))  # "via": key's owner
    out: dict[str, dict[str, str]] = {}
    for key in sorted(wanted):
        if key in model_owner:
            out.setdefault(model_owner[key], {}).setdefault(key.split(":")[1], key)
    return out


def _table_models(tree: SourceTree, model_owner: dict[str, str]) -> dict[str, str]:
    """Table -> class name of the model that maps it (the first one, by module order)."""
    out: dict[str, str] = {}
    for key in sorted(model_owner):
        table = tree.models[key].table
        if table:
            out.setdefault(table, key.split(":")[1])
    return out


def _endpoint_names(plan: Plan, tree: SourceTree, analyzer: Analyzer) -> dict[str, str]:
    """module:function -> endpoint name, unique per owning service."""
    out: dict[str, str] = {}
    for _name, svc in sorted(plan.services.items()):
        keys = sorted(k for k in svc.interface if ":" in k)
        counts: dict[str, int] = {}
        for k in keys:
            counts[k.split(":")[1]] = counts.get(k.split(":")[1], 0) + 1
        for k in keys:
            mod, fn = k.split(":")
            out[k] = fn if counts[fn] == 1 else f"{mod.split('.')[-1]}.{fn}"
    return out


def _client_name(target: str, module: str, taken: set[str]) -> str:
    parts = module.split(".")[1:] or module.split(".")
    base = python_identifier("_".join(parts))
    if not base.startswith(python_identifier(target)):
        base = f"{python_identifier(target)}_{base}"
    name = base
    i = 2
    while name in taken or name in ("runtime", "endpoints", "app", "wsgi"):
        name = f"{base}_{i}"
        i += 1
    taken.add(name)
    return name


def _service(
    ex: Extraction,
    svc: str,
    plan: Plan,
    tree: SourceTree,
    layout: Layout,
    analyzer: Analyzer,
    table_owner: dict[str, str],
    model_owner: dict[str, str],
    endpoint_names: dict[str, str],
    env_names: list[str],
    unit_of_work: str | None,
    web: tuple[str, tuple[str, str] | None],
    read_models: dict[str, dict[str, str]],
) -> None:
    label = dns_label(svc)
    base = f"services/{label}/src"
    codes: dict[str, str] = {}
    kept: dict[str, set[str] | None] = {}
    lacking: dict[str, list[str]] = {}  # split module -> names its copy lacks
    for m in layout.modules_of(svc):
        if m in layout.roots:
            continue
        info = tree.info(m)
        if m in layout.split:
            symbols = layout.split[m]
            keep = {s for s, o in symbols.items() if o in (svc, KERNEL)}
            drop = {s for s, o in symbols.items() if o not in (svc, KERNEL)}
            result = split_module(info.source, keep, drop)
            codes[m] = result.code
            kept[m] = set(result.kept) | set(result.pulled_in)
            gone = {n: ["__all__"] for n in result.unexported}  # no longer referred to here
            lacking[m] = sorted(result.missing)
            for missing, users in [*result.missing.items(), *gone.items()]:
                owner = symbols.get(missing, "?")
                ex.couplings.append(
                    Coupling(
                        svc,
                        tree.rel(m),
                        _line_of(info, users[0]),
                        f"{m}:{missing}",
                        owner,
                        "import",
                        missing in gone,
                    )
                )
        else:
            codes[m] = info.source
            kept[m] = None

    def has(module: str, name: str | None) -> bool:
        if name is not None and kept.get(module) is not None:
            return name in kept[module]  # type: ignore[operator]
        return layout.has(svc, module, name)

    refs = analyzer.service_refs(svc, kept, has)
    for m, names in sorted(lacking.items()):  # called through the owner's client instead
        codes[m], imported = through_clients(analyzer, refs, svc, m, codes[m], names)
        reached = {f"{m}:{n}" for n in imported}
        for c in ex.couplings:
            if c.service == svc and c.kind == "import" and c.uses in reached:
                c.converted = True
    # a request helper of another service that the composition root uses (a FastAPI app's
    # ``Depends(...)``) is copied into a client like the moved code's, not pruned with its app
    copied: set[tuple[str, str]] = set()
    for tm, client in analyzer.service_refs(svc, dict.fromkeys(layout.roots), has).clients.items():
        for n, e in client.entries.items():
            if e.kind == "copy":
                mine = refs.clients.setdefault(tm, Client(svc, client.target, tm, ""))
                mine.entries.setdefault(n, e)
                copied.add((tm, n))
    taken: set[str] = set()
    redirects: dict[str, str] = {}
    for tm, client in sorted(refs.clients.items()):
        client.module_name = _client_name(client.target, tm, taken)
        redirects[tm] = f"interservice.{client.module_name}"
    ex.calls.extend(refs.calls)
    for file, line, node, owner in refs.uses:
        mod, _, name = node.partition(":")
        if f"{mod}:{name}" in model_owner:
            # a read a generated read model answers reaches the owner only through it, and so
            # does a type hint of the name that read model stands in for
            hint = (file, line, node) in refs.hints
            ex.couplings.append(
                Coupling(
                    svc,
                    file,
                    line,
                    node,
                    owner,
                    "annotation"
                    if hint
                    else "model-class"
                    if (file, line, node) in refs.model_classes
                    else "model",
                    hint or (file, line, node) in refs.reads,
                    refs.why.get((file, line, node), ""),
                )
            )
    foreign_tables = {t: o for t, o in table_owner.items() if o != svc}
    local_models = {k.split(":")[1] for k, o in model_owner.items() if o in (svc, KERNEL)}
    foreign_models = {
        k.split(":")[1]: o
        for k, o in model_owner.items()
        if o not in (svc, KERNEL) and k.split(":")[1] not in local_models
    }
    rel_targets = hints.relationship_targets(
        {k.split(":")[1]: c.node for k, c in sorted(tree.models.items())}
    )
    files: dict[str, str] = {}
    reverse = reverse_keys({k.split(":")[1]: c.node for k, c in sorted(tree.models.items())})
    for m, code in sorted(codes.items()):
        module = cst.parse_module(code)
        rewriter = ImportRewriter(m, tree, redirects, has)
        module = module.visit(rewriter)
        # ``session.query(Model)`` of a model a read model stands in for asks that read model
        stand_ins = {r.binding for r in refs.refs if r.module == m and analyzer.read_model(refs, r)}
        if stand_ins:
            # a join with another service's model: composed from keys its owner reads
            foreign = {r.binding for r in refs.refs if r.module == m}
            context = analyzer.join_context(m, stand_ins, foreign)
            module = MetadataWrapper(module).visit(joins.Joins(context))
            module = module.visit(queries.SessionQueries(stand_ins))
            # ``session.add(row)`` / ``delete(row)`` of a copy: its owner writes it
            module = module.visit(writes.SessionWrites(min(stand_ins)))
        # loading hints through another service's model: cut to their local part, or dropped
        bindings = hints.hint_bindings(tree.info(m))
        if bindings:
            rule = hints.Rule(bindings, set(local_models), set(foreign_models), rel_targets)
            hinted = hints.dropped_uses(tree.info(m), rule)
            module = module.visit(hints.LoaderHints(rule))
            for c in ex.couplings:
                if (c.service, c.file, c.kind, c.converted) == (svc, tree.rel(m), "model", False):
                    c.converted = (c.line, c.uses.rpartition(":")[2]) in hinted
        code = module.code
        if any(c.table for c in tree.info(m).classes.values()):
            code, cuts = cut_foreign_links(
                code,
                foreign_tables,
                foreign_models,
                _table_models(tree, model_owner),
                reverse,
            )
            # a use of the other model in a link now cut to a key read by it is gone too
            spans = attribute_spans(tree.info(m).module) if cuts else {}
            done = [spans[(c[0], c[1])] for c in cuts if c[5] and (c[0], c[1]) in spans]
            for c in ex.couplings:
                if (c.service, c.file, c.kind, c.converted) == (
                    svc,
                    tree.rel(m),
                    "model",
                    False,
                ) and any(a <= c.line <= b for a, b in done):
                    c.converted = True
            for model, attr, kind, target, owner, read in cuts:
                cls = tree.info(m).classes.get(model)
                ex.couplings.append(
                    Coupling(
                        svc,
                        tree.rel(m),
                        cls.line if cls else 0,
                        f"{model}.{attr} -> {target}",
                        owner,
                        kind,
                        read,
                    )
                )
            if cuts:  # a name the split left missing only for a link that is now a read
                left = names_in(cst.parse_module(code), strings=False)
                for c in ex.couplings:
                    if (
                        c.service == svc
                        and c.kind == "import"
                        and c.file == tree.rel(m)
                        and c.uses.split(":")[1] not in left
                    ):
                        c.converted = True
        files[m] = code
    for m in layout.roots:
        files[m] = _prune_root(tree, layout, svc, m, ex, has, copied, redirects)
    out_files: dict[str, str] = {}
    for m, code in files.items():
        out_files[f"{base}/{tree.rel(m)}"] = code
    for pkg in sorted(layout.namespace.get(svc, set())):
        # a package the kernel library contributes to: a regular package that also looks in
        # the kernel's part of it (and nowhere else, so a stray copy of the monolith on
        # sys.path can never fill in for code this service does not have)
        original = tree.info(pkg).source if pkg in tree.files else ""
        out_files[f"{base}/{pkg.replace('.', '/')}/__init__.py"] = _shared_init(original)
    # packages that exist only as folders of this service's modules need no __init__ (PEP 420)
    for _pkg, paths in sorted(tree.data_files.items()):
        for path in paths:
            rel = path.relative_to(tree.root).as_posix()
            try:  # never through a link out of the tree, never a FIFO or device, bounded
                ex.files[f"{base}/{rel}"] = read_regular(
                    path, root=tree.root, max_bytes=MAX_COPY_BYTES
                )
            except FileError as exc:
                ex.notes.append(f"{rel}: {exc.why}; not copied")
    # generated package
    gen: dict[str, str] = {
        "interservice/__init__.py": codegen.HEADER + '"""Calls between the extracted services '
        '(generated by migrator)."""\n',
        "interservice/runtime.py": codegen.HEADER + RUNTIME.read_text(encoding="utf-8"),
    }
    available = {m for m in tree.modules() if layout.has(svc, m)}
    for _tm, client in sorted(refs.clients.items()):
        gen[f"interservice/{client.module_name}.py"] = codegen.client_module(
            client, tree, endpoint_names, available, has
        )
    served = _served(plan.services[svc].interface, tree, analyzer, endpoint_names)
    entry = _wiring(
        gen,
        label,
        svc,
        tree,
        layout,
        analyzer,
        served,
        env_names,
        unit_of_work,
        web,
        read_models.get(svc, {}),
    )
    for rel, code in gen.items():
        out_files[f"{base}/{rel}"] = code
    for rel, code in out_files.items():
        ex.files[rel] = code.encode("utf-8")
    ex.services[svc] = {
        "modules": sorted(m for m in files if m not in layout.roots),
        "roots": list(layout.roots),
        "clients": {c.module_name: c.target for c in refs.clients.values()},
        "endpoints": sorted(served),
        "read_models": sorted(read_models.get(svc, {})),
        "framework": web[0],
        "app": entry,
        "database_env": env_names,
    }


def _line_of(info, name: str) -> int:  # noqa: ANN001
    node = info.functions.get(name) or info.classes.get(name)
    return node.line if node else info.variables.get(name, 0)


def _served(
    interface: list[str], tree: SourceTree, analyzer: Analyzer, endpoint_names: dict[str, str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in sorted(interface):
        mod, _, fn = key.partition(":")
        if mod not in tree.files or fn not in tree.info(mod).functions:
            continue
        entry = analyzer._classify(mod, fn, "self")
        if entry.kind in ("function", EFFECT):
            out[endpoint_names[key]] = key
    return out


def _framework(plan: Plan, graph: DependencyGraph | None, tree: SourceTree) -> str:
    """The monolith's web framework, as the scaffold decides it (imports when no graph)."""
    if graph is not None:
        from migrator.generation.model import detect_framework

        return detect_framework(graph, plan)
    tops = {imp.module.split(".")[0] for m in tree.modules() for imp in tree.info(m).imports}
    return next((fw for fw in ("django", "fastapi", "flask") if fw in tops), "flask")


def _runs(analyzer: Analyzer, model: str) -> dict[str, str]:
    """The methods of ``model``'s own code that callers' read models may have its owner run:
    those judged to read, or to write rows of its class only (``runtime.reader``)."""
    ops = {writes.WRITE_CLASS, writes.WRITE_ROW, ownreads.OWNER_READ, ownreads.OWNER_READ_ROW}
    return {m: op for m, op in analyzer.classifier.read_helpers(model).items() if op in ops}


def _wiring(
    gen: dict[str, str],
    label: str,
    svc: str,
    tree: SourceTree,
    layout: Layout,
    analyzer: Analyzer,
    served: dict[str, str],
    env_names: list[str],
    unit_of_work: str | None,
    web: tuple[str, tuple[str, str] | None],
    reads: dict[str, str],
) -> str:
    """The service's app in the monolith's own framework; returns its entry point."""
    framework, django = web
    skeleton = f"{python_identifier(label)}_service"
    methods = {model: _runs(analyzer, key) for model, key in reads.items()}
    if framework == "django":
        settings, urlconf = django or (None, None)
        mine = [m for m in layout.modules_of(svc) if m not in layout.roots]
        own_apps = sorted(
            {
                m.rpartition(".")[0]
                for m in [*mine, *layout.modules_of(KERNEL)]
                if m.rpartition(".")[2] in ("models", "apps") and "." in m
            }
        )
        own_urls = sorted(
            m
            for m in mine
            if m.rpartition(".")[2] == "urls" and "urlpatterns" in tree.info(m).variables
        )
        gen["interservice/settings.py"] = frameworks.django_settings(
            label, settings, _absent_apps(tree, layout, svc, settings) if settings else [], own_apps
        )
        gen["interservice/urls.py"] = frameworks.django_urls(
            label, urlconf if urlconf in tree.files else None, own_urls
        )
        gen["interservice/endpoints.py"] = frameworks.django_endpoints(
            label, served, reads, methods
        )
        gen["interservice/wsgi.py"] = frameworks.django_wsgi()
        return "interservice.wsgi:application"
    root, is_factory = _factory(tree, layout, framework)
    containers = [] if root else _route_containers(tree, layout, svc, framework)
    inject = {e: analyzer.injected(key) for e, key in served.items()}
    sessions = analyzer.classifier.session_factory
    if framework == "fastapi":
        if served or reads:
            gen["interservice/endpoints.py"] = frameworks.fastapi_endpoints(
                label, served, unit_of_work, inject, sessions, reads, methods
            )
        gen["interservice/app.py"] = frameworks.fastapi_app(
            label, root, is_factory, containers, env_names, bool(served or reads), skeleton
        )
        gen["interservice/asgi.py"] = frameworks.asgi_module()
        return "interservice.asgi:app"
    if served or reads:
        gen["interservice/endpoints.py"] = codegen.endpoints_module(
            label, served, unit_of_work, inject, sessions, reads, methods
        )
    gen["interservice/app.py"] = codegen.app_module(
        label,
        root,
        containers,
        env_names,
        bool(served or reads),
        skeleton,
        is_factory,
        unit_of_work,
    )
    gen["interservice/wsgi.py"] = (
        codegen.HEADER + '"""WSGI entry point: gunicorn '
        'interservice.wsgi:app (from src/)."""\n\n'
        "from interservice import runtime\n"
        "from interservice.app import create_app\n\n"
        "app = create_app()\n"
        "app.wsgi_app = runtime.InternalGuard(app.wsgi_app)  # internal API: the token only\n"
    )
    return "interservice.app:create_app"


def _absent_apps(tree: SourceTree, layout: Layout, svc: str, settings: str) -> list[str]:
    """``INSTALLED_APPS`` entries whose package this service does not have."""
    out = []
    for app in frameworks.installed_apps(tree.info(settings).source):
        parts = app.split(".")
        module = next(
            (
                ".".join(parts[:i])
                for i in range(len(parts), 0, -1)
                if ".".join(parts[:i]) in tree.files
            ),
            None,
        )
        if module is not None and not layout.has(svc, module):
            out.append(app)
    return out


def _factory(tree: SourceTree, layout: Layout, framework: str) -> tuple[str | None, bool]:
    """(``module:name`` of the app object or factory in a composition root, is a factory)."""
    cls = frameworks.APP_CLASS.get(framework, "Flask")
    for m in layout.roots:
        info = tree.info(m)
        for name, f in sorted(info.functions.items()):
            if re.search(rf"\b{cls}\(", f.body_code):
                return f"{m}:{name}", True
        for name in _assigned_calls(tree, m, cls):
            return f"{m}:{name}", False
        if framework == "flask" and "app" in info.variables:
            return f"{m}:app", False
    return None, False


def _assigned_calls(tree: SourceTree, module: str, func: str) -> list[str]:
    """Names bound at module level to a call of something named ``func`` (``bp = Blueprint()``)."""
    out = []
    for stmt in tree.info(module).module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and isinstance(small.value, cst.Call)
                    and cst.Module([]).code_for_node(small.value.func).split(".")[-1] == func
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    out.append(small.targets[0].target.value)
    return out


def _route_containers(tree: SourceTree, layout: Layout, svc: str, framework: str) -> list[str]:
    """Blueprints (Flask) or routers (FastAPI) defined in the service's modules."""
    func = frameworks.ROUTE_CONTAINER.get(framework, "Blueprint")
    return sorted(
        f"{m}:{name}" for m in layout.modules_of(svc) for name in _assigned_calls(tree, m, func)
    )


KERNEL_MARKER = "_migrator_kernel.py"
SHARED_PATH = (
    "import os as _os  # noqa: E402\n"
    "import pkgutil as _pkgutil  # noqa: E402\n\n"
    "# migrator: the shared kernel library adds modules to this package; look there too\n"
    "__path__ = [_p for _p in _pkgutil.extend_path(__path__, __name__)\n"
    f"            if _p == __path__[0] or _os.path.exists(_os.path.join(_p, {KERNEL_MARKER!r}))]\n"
)


def _shared_init(original: str) -> str:
    """``__init__`` of a package shared with the kernel: its own code plus the kernel's part."""
    module = cst.parse_module(original)
    body = list(module.body)
    i = 0
    while i < len(body) and (
        is_docstring(body[i])
        or (
            isinstance(body[i], cst.SimpleStatementLine)
            and "__future__" in cst.Module([]).code_for_node(body[i])
        )
    ):
        i += 1
    head = module.with_changes(body=body[:i]).code.rstrip("\n")
    rest = module.with_changes(body=body[i:]).code.strip("\n")
    parts = [p for p in (head, SHARED_PATH.rstrip("\n"), rest) if p]
    return "\n\n".join(parts) + "\n"


class _DropBindings(cst.CSTTransformer):
    """Remove imported names (at any depth) that a service does not have."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        smalls = []
        for small in updated.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                getattr(small, "names", None), cst.ImportStar
            ):
                aliases = [
                    a
                    for a in small.names  # type: ignore[union-attr]
                    if not (import_bindings(small.with_changes(names=[a])) & self.names)
                ]
                if not aliases:
                    continue
                if len(aliases) != len(small.names):  # type: ignore[arg-type]
                    aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    small = small.with_changes(names=aliases)
                    if isinstance(small, cst.ImportFrom) and len(aliases) == 1:
                        small = small.with_changes(lpar=None, rpar=None)
            smalls.append(small)
        if not smalls:
            return cst.RemovalSentinel.REMOVE
        smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(body=smalls)


class _DropModuleStrings(cst.CSTTransformer):
    """Drop entries of literal lists/tuples that name a module the service lacks by string
    (``("pkg.orders.routes", "bp", "/api/orders")`` tables fed to ``import_module``)."""

    def __init__(self, absent: set[str]) -> None:
        self.absent = absent

    def _names_absent(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            return isinstance(value, str) and value in self.absent
        if isinstance(node, (cst.Tuple, cst.List)):
            return any(self._names_absent(el.value) for el in node.elements)
        return False

    def _includes_absent(self, call: cst.Call) -> bool:
        """``path("orders/", include("shop.orders.urls"))``: a route into an absent module."""
        return any(
            isinstance(n, cst.SimpleString) and n.evaluated_value in self.absent
            for n in _descendants(call)
        )

    def _filter(self, updated: cst.Tuple | cst.List) -> cst.Tuple | cst.List:
        strings = [
            el.value.evaluated_value
            for el in updated.elements
            if isinstance(el.value, cst.SimpleString)
        ]
        modules_only = len(strings) == len(updated.elements) and all(
            isinstance(v, str) and re.fullmatch(r"\w+(\.\w+)+", v) for v in strings
        )
        elements = [
            el
            for el in updated.elements
            if not (
                (isinstance(el.value, (cst.Tuple, cst.List)) or modules_only)
                and self._names_absent(el.value)
            )
            and not (isinstance(el.value, cst.Call) and self._includes_absent(el.value))
        ]
        if len(elements) == len(updated.elements):
            return updated
        return updated.with_changes(elements=elements)

    def leave_Tuple(self, original: cst.Tuple, updated: cst.Tuple) -> cst.BaseExpression:
        if len(updated.elements) > 1 and all(
            isinstance(el.value, (cst.Tuple, cst.List, cst.SimpleString)) for el in updated.elements
        ):
            filtered = self._filter(updated)
            if not filtered.elements:
                return cst.Tuple([], lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return filtered
        return updated

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.BaseExpression:
        return self._filter(updated)


def _descendants(node: cst.CSTNode) -> list[cst.CSTNode]:
    out = [node]
    for child in node.children:
        out.extend(_descendants(child))
    return out


def _prune_root(
    tree: SourceTree,
    layout: Layout,
    svc: str,
    module: str,
    ex: Extraction,
    has: Callable[[str, str | None], bool],
    copied: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    redirects: dict[str, str] | None = None,
) -> str:
    """The app factory, keeping only the registrations and set-up this service can satisfy;
    ``copied`` helpers of other services are imported from their clients (``redirects``)."""
    info = tree.info(module)
    unavailable: set[str] = set()
    for imp in info.imports:
        if imp.module.split(".")[0] not in {m.split(".")[0] for m in tree.files}:
            continue
        if imp.name is None:
            if not has(imp.module, None) and imp.module in tree.files:
                unavailable.add(imp.binding)
            continue
        tm, tn = tree.resolve(imp.module, imp.name)
        if tm in tree.files and not has(tm, tn) and (tm, tn) not in copied:
            unavailable.add(imp.binding)
    absent = {m for m in tree.files if not layout.has(svc, m)}
    new = info.module.visit(_DropBindings(unavailable)).visit(_DropModuleStrings(absent))
    if copied:
        new = new.visit(ImportRewriter(module, tree, redirects or {}, has))
    new, removed = prune_unavailable(new, unavailable)
    new = prune_imports(new)
    if removed:
        ex.notes.append(
            f"{svc}: {tree.rel(module)}: {removed} statement(s) that need other "
            f"services' code removed ({', '.join(sorted(unavailable))})"
        )
    return new.code


def _kernel(
    ex: Extraction, name: str, tree: SourceTree, layout: Layout, graph: DependencyGraph | None
) -> None:
    base = "shared_kernel"
    modules = layout.modules_of(KERNEL)
    for m in modules:
        info = tree.info(m)
        if tree.is_package(m) and m in layout.namespace.get(KERNEL, set()):
            continue  # a namespace package: services contribute to it too
        code = info.source
        if m in layout.split:
            symbols = layout.split[m]
            code = split_module(code, {s for s, o in symbols.items() if o == KERNEL}).code
        guard = KernelGuard(m, tree, layout)
        code = cst.parse_module(code).visit(guard).code
        for g in guard.guarded:
            ex.notes.append(
                f"{tree.rel(m)}: kernel imports service code ({g}); guarded with "
                "try/except ImportError"
            )
        ex.files[f"{base}/src/{tree.rel(m)}"] = code.encode("utf-8")
    for pkg in sorted(layout.namespace.get(KERNEL, set())):
        ex.files[f"{base}/src/{pkg.replace('.', '/')}/{KERNEL_MARKER}"] = (
            b'"""Marks the shared kernel library\'s part of this package (generated by '
            b'migrator)."""\n'
        )
    dists: set[str] = set()
    for m in modules:
        for ext in graph.externals.get(m, []) if graph else []:
            if not ext.stdlib and ext.distribution:
                dists.add(ext.distribution)
    packages = sorted({m.split(".")[0] for m in modules})
    ex.files[f"{base}/pyproject.toml"] = codegen.kernel_pyproject(
        f"{name}-shared-kernel", sorted(dists, key=str.lower), packages
    ).encode("utf-8")
    ex.files[f"{base}/README.md"] = (
        f"# {name}-shared-kernel\n\nGenerated by `migrator scaffold --extract`: the shared "
        "kernel of the plan\n(" + ", ".join(f"`{m}`" for m in modules) + ") as one library "
        "that every service installs\n(`pip install ./shared_kernel`). Change it with care: "
        "every service depends on it.\n"
    ).encode("utf-8")


def _data_coupling(
    ex: Extraction,
    plan: Plan,
    graph: DependencyGraph | None,
    tree: SourceTree,
    layout: Layout,
    table_owner: dict[str, str],
) -> None:
    """Reads and writes of another service's tables, as the analyser saw them."""
    if graph is None:
        return
    models = [c for c in ex.couplings if c.kind in ("model", "model-class")]
    for table in graph.tables.values():
        owner = table_owner.get(table.name)
        if owner is None:
            continue
        for node in sorted(set(table.readers) | set(table.writers)):
            who = plan.service_of(node)
            if who in (None, owner, KERNEL):
                continue
            data = graph.g.nodes.get(node, {})
            file = str(data.get("file", ""))
            # a function that reaches the table only through read models (every use of the
            # owner's models in it is a converted read) is converted too
            span = _span(tree, node)
            inside = [
                c
                for c in models
                if c.service == who
                and c.owner == owner
                and c.file == file
                and span[0] <= c.line <= span[1]
            ]
            ex.couplings.append(
                Coupling(
                    who,
                    file,
                    int(data.get("line", 0)),
                    f"table {table.name} ({node})",
                    owner,
                    "table",
                    bool(inside) and all(c.converted for c in inside) and node not in table.writers,
                )
            )


def _span(tree: SourceTree, node: str) -> tuple[int, int]:
    """First and last line of a top-level function or class ``module:name`` (0, -1 when
    unknown)."""
    module, _, name = node.partition(":")
    info = tree.info(module) if module in tree.files else None
    func = (info.functions.get(name) or info.classes.get(name)) if info else None
    if func is None:
        return 0, -1
    lines = cst.Module([]).code_for_node(func.node).count("\n")
    return func.line - len(func.node.decorators), func.line + lines


def _json(ex: Extraction) -> dict:
    return {
        "schema": "migrator.extraction",
        "version": 1,
        "summary": ex.summary(),
        "services": ex.services,
        "calls": [c.__dict__ for c in ex.calls],
        "couplings": [c.__dict__ for c in ex.couplings],
        "notes": ex.notes,
    }


# -- writing ----------------------------------------------------------------------------------
MANIFEST = ".migrator-extract.json"


def extract(
    plan: Plan,
    graph: DependencyGraph | None,
    source_root: str | Path,
    out: str | Path,
    *,
    force: bool = False,
    project: str | None = None,
) -> Extraction:
    """Extract the code of every service of ``plan`` into ``out`` (see module docstring).

    Files edited by hand since migrator wrote them (or never written by migrator) are only
    overwritten with ``force``; every conflict is found before the first write.
    """
    ex = build_extraction(plan, graph, source_root, project=project)
    with out_folder(out) as folder:
        write_files(folder, ex.files, force=force)
    return ex


def write_files(out: Path, files: dict[str, bytes], *, force: bool = False) -> list[str]:
    manifest_path = out / MANIFEST
    try:
        manifest = json.loads(read_existing(manifest_path, root=out) or b"{}").get("files", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise ExtractionError(f"{manifest_path}:1: unreadable ({exc})") from None
    conflicts = []
    for rel, data in sorted(files.items()):
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise ExtractionError(f"{rel}:0: would be written outside {out}")
        path = out / rel
        current = read_existing(path, root=out)
        if current is None:
            continue
        if (
            current != data
            and hashlib.sha256(current).hexdigest() != manifest.get(rel)
            and not force
        ):
            conflicts.append(
                f"{path}:1: edited since migrator wrote it (or not written by "
                "migrator); use --force to overwrite"
            )
    if conflicts:
        raise ExtractionError("\n".join(conflicts))
    written = []
    for rel, data in sorted(files.items()):
        if atomic_write(out / rel, data, root=out):
            written.append(rel)
    new = dict(manifest)
    new.update({rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()})
    atomic_write(
        manifest_path,
        json.dumps(
            {"generator": "migrator scaffold --extract", "files": dict(sorted(new.items()))},
            indent=1,
            sort_keys=True,
        )
        + "\n",
        root=out,
    )
    return written
