"""Shared plug-in machinery: the fast walk, line numbers, and deterministic output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest
from fwhelp import APPS, module_name
from libcst.metadata import MetadataWrapper, PositionProvider

from migrator.analysis import frameworks
from migrator.analysis.frameworks import _util as u

APP_NAMES = ("flask", "fastapi", "django", "sqlalchemy", "tasks", "signals")
#: plug-ins with no fixture app of their own (tested on in-memory projects), first and last
HELPER_PLUGINS = ("classviews",)
LATER_PLUGINS = ("graphql",)
FILES = sorted(p for app in APP_NAMES for p in (APPS / app).rglob("*.py"))


def test_plugins_are_registered_in_order() -> None:
    assert [p.name for p in frameworks.plugins()] == [*HELPER_PLUGINS, *APP_NAMES, *LATER_PLUGINS]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(APPS)))
def test_walk_reaches_every_call_and_lines_match_position_provider(path: Path) -> None:
    tree = cst.parse_module(path.read_text())

    class Calls(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.Call] = []

        def visit_Call(self, node: cst.Call) -> None:
            self.found.append(node)

    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    visitor = Calls()
    wrapper.visit(visitor)
    walked = [n for n, _ in u.walk(tree) if isinstance(n, cst.Call)]
    assert {id(n) for n in walked} == {id(n) for n in visitor.found}
    positions = wrapper.resolve(PositionProvider)
    lines = u.Lines(tree)
    for node in walked:
        lines.want(node)
    assert [lines.of(n) for n in walked] == [positions[n].start.line for n in walked]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(APPS)))
def test_collect_on_bare_tree_equals_collect_inside_the_analyser(path: Path) -> None:
    """Inside the analyser, lines come from the core's pass; on a bare tree from ``Lines``."""
    from migrator.analysis.parse import WorkItem, analyse_source

    app = path.relative_to(APPS).parts[0]
    rel = path.relative_to(APPS / app)
    module, is_package = module_name(rel)
    data = path.read_bytes()
    facts = analyse_source(WorkItem(rel.as_posix(), module, is_package, "sha", data, True))
    source = data.decode()
    for plugin in frameworks.plugins():
        if any(marker in source for marker in plugin.markers):
            bare = plugin.collect(cst.parse_module(source), module, rel.as_posix())
            assert facts.framework.get(plugin.name) == bare, plugin.name


def test_expression_helpers() -> None:
    call = cst.parse_expression('f(1, "a" "b", k=x.y, *rest)')
    assert isinstance(call, cst.Call)
    assert u.dotted(call.func) == "f" and u.dotted(call.args[0].value) is None
    assert u.string(call.args[1].value) == "ab"
    assert u.dotted(u.arg(call, -1, "k")) == "x.y"
    assert u.string(cst.parse_expression('f"x{y}"')) is None
    assert u.strings(cst.parse_expression('["a", "b"]')) == ["a", "b"]
    assert u.strings(cst.parse_expression('["a", b]')) is None
    assert u.join_path("/api/", "/x") == "/api/x" and u.join_path(None, "/x") == "/x"


_DUMP = """
import json, sys
sys.path.insert(0, sys.argv[1])
from fwhelp import fake_graph
from migrator.analysis import analyze
out = [fake_graph(a).to_dict() for a in sys.argv[2:]]
out += [analyze(f"{sys.argv[1]}/apps/{a}", jobs=1, use_cache=False).to_dict() for a in sys.argv[2:]]
for d in out:
    d.pop("root")
print(json.dumps(out, sort_keys=False))
"""


def test_output_is_identical_under_different_hash_seeds() -> None:
    here = str(Path(__file__).parent)
    runs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run(
            [sys.executable, "-c", _DUMP, here, *APP_NAMES],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        runs.append(proc.stdout)
    assert runs[0] == runs[1]
    assert len(json.loads(runs[0])) == 2 * len(APP_NAMES)


ODD = """
import flask, fastapi, django, sqlalchemy, celery, click
from flask import Blueprint

bp = Blueprint()
app = flask.Flask()
router = fastapi.APIRouter(prefix=PREFIX)
Base = declarative_base()
urlpatterns = [path(), path("x"), re_path(r"^a", include()), path("y", include(router.urls))]
urlpatterns += other
INSTALLED_APPS = [name for name in NAMES]
TABLE = ()
for a, b in TABLE:
    app.register_blueprint(a, url_prefix=b)
for x in [1, (2, 3)]:
    app.register_blueprint(x)


@bp.route()
@bp.get(f"/{x}")
@app.route("/ok", methods=METHODS)
@routes[0]
@router.api_route("/z", methods=["GET", verb])
@receiver()
@shared_task()
@click.command(name=NAME)
def f(*args, db=Depends(), q=Depends(lambda: 1), **kw):
    app.register_blueprint()
    app.add_url_rule()
    router.include_router()
    apps.get_model()
    get_model(1, 2)
    signal.connect()
    queue.enqueue()
    session.add()
    session.add(*items)
    session.query().all()
    select()
    text(sql)
    text("SELECT")
    Model.objects.filter().update()
    (lambda: x).save()
    obj.attr += 1
    [a for a in b].append(1)


class M(Base):
    __tablename__ = name
    rel = relationship()
    fk = Column(ForeignKey())
    other = relationship(secondary="t")


class D(models.Model):
    a = models.ForeignKey()
    b = models.ManyToManyField(to=1)

    class Meta:
        db_table = NAME


class Command(BaseCommand):
    pass
"""


def test_odd_constructs_never_crash_a_plugin() -> None:
    from fwhelp import mini_graph

    graph = mini_graph(
        {"odd/__init__.py": "", "odd/management/commands/odd.py": ODD, "odd/m.py": ODD}
    )
    assert not [d for d in graph.diagnostics if d.code == "plugin-error"]
    facts_seen = {p.name for p in frameworks.plugins()}
    assert facts_seen == {*HELPER_PLUGINS, *APP_NAMES, *LATER_PLUGINS}
    # methods given but not literal: any method, rather than a guess
    assert {("ANY", "/ok"), ("ANY", "/z")} <= {(r.method, r.path) for r in graph.routes}
