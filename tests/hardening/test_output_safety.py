"""Output safety: plans are validated before use; hostile names from user code never break
or escape the generated YAML, Dockerfiles, compose, nginx config, Python and paths; user
templates render in a sandbox; an interrupted write never leaves a half-written file."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from migrator.generation import ScaffoldError, scaffold, writer
from migrator.graph import DependencyGraph, ExternalImport, Route, Table
from migrator.plan import Plan, PlanError, Service, load_plan, plan_from_dict
from migrator.util import fs

# -- plan validation ----------------------------------------------------------------------------

GOOD = {"version": 1, "services": {"catalog": {"modules": ["shop.catalog"]}}}


def _with(**service) -> dict:
    return {"version": 1, "services": {"catalog": service}}


@pytest.mark.parametrize(
    "data, where",
    [
        ([1, 2], "top level"),
        ({"services": GOOD["services"]}, "version"),
        ({"version": 1, "services": {}}, "services"),
        ({"version": 1, "services": ["catalog"]}, "services"),
        ({**GOOD, "sevrices": {}}, "sevrices: unknown top-level key"),
        ({"version": 1, "services": {"catalog\n": {}}}, "services.catalog\n"),
        ({"version": 1, "services": {"../etc": {}}}, "services.../etc"),
        ({"version": 1, "services": {"a:b": {}}}, "services.a:b"),
        ({"version": 1, "services": {"{{x}}": {}}}, "services.{{x}}"),
        ({"version": 1, "services": {"$(id)": {}}}, "services.$(id)"),
        ({"version": 1, "services": {"it's": {}}}, "services.it's"),
        ({"version": 1, "services": {"kätalog": {}}}, "services.kätalog"),
        ({"version": 1, "services": {"x" * 64: {}}}, "services.xxxx"),
        ({"version": 1, "services": {7: {}}}, "services.7"),
        ({"version": 1, "services": {"catalog": [1]}}, "services.catalog: must be a mapping"),
        (_with(modulez=["a"]), "services.catalog.modulez: unknown key"),
        (_with(modules="shop.catalog"), "services.catalog.modules: must be a list of strings"),
        (_with(modules=[["a"]]), "services.catalog.modules: must be a list of strings"),
        (_with(modules=["shop.catalog\nevil"]), "services.catalog.modules"),
        (_with(modules=["../shop"]), "services.catalog.modules"),
        (_with(symbols=["shop.catalog"]), "services.catalog.symbols"),
        (_with(depends_on=["ghost"]), "services.catalog.depends_on: unknown service 'ghost'"),
        ({**GOOD, "shared_kernel": ["x"]}, "shared_kernel"),
        (
            {**GOOD, "shared_kernel": {"modules": ["shop.catalog"]}},
            "shop.catalog: assigned to both",
        ),
        ({**GOOD, "metrics": [1]}, "metrics: must be a mapping"),
    ],
)
def test_malformed_plans_name_the_key(data, where) -> None:
    with pytest.raises(PlanError) as info:
        plan_from_dict(data, source="plan.yaml")
    assert info.value.problems
    assert str(info.value).startswith("plan.yaml: ")
    assert any(where in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    "text, where",
    [
        ("version: 1\nservices: {catalog: [\n", "line "),
        ("!!python/object/apply:os.system ['touch /tmp/migrator-pwned']\n", "not valid YAML"),
        ("version: 1\nservices:\n  catalog: !!python/name:os.system\n", "not valid YAML"),
        ("\x00\x01", "not valid YAML"),
    ],
)
def test_plan_files_are_parsed_safely(tmp_path, text, where) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    with pytest.raises(PlanError) as info:
        load_plan(plan)
    assert str(plan) in str(info.value) and where in str(info.value)
    assert not Path("/tmp/migrator-pwned").exists()


def test_yaml_alias_bomb_is_cheap(tmp_path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]")
    text = (
        "version: 1\nmeta:\n"
        + textwrap.indent("\n".join(lines), "  ")
        + "\nservices:\n  catalog:\n    modules: *i\n"
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    with pytest.raises(PlanError) as info:  # 9**9 strings if expanded: rejected, not expanded
        load_plan(plan)
    assert "services.catalog.modules: must be a list of strings" in str(info.value)


# -- hostile names through scaffold ---------------------------------------------------------------

HOSTILE = [
    "../../etc/passwd",
    "x\nlocation / { return 200; }",
    "a:b",
    "t{{ 7*7 }}",
    "$(touch /tmp/migrator-pwned)",
    "`id`",
    "q\"u'o;te",
    "ünï表",
    "a\r\nX-Evil: 1",
    "${HOME}",
    "#comment",
    "- item",
    "&anchor *alias",
    "!!python/object",
]


def hostile_graph() -> DependencyGraph:
    g = DependencyGraph(root="/nonexistent/shop")
    for m in ("shop", "shop.catalog", "shop.orders", "shop.config"):
        g.add_node(m, "module", file=m.replace(".", "/") + ".py", line=1, end_line=10)
    g.add_edge("shop.orders", "shop.catalog", "import", ["shop/orders.py:1"])
    for i, bad in enumerate(HOSTILE):
        for method in ("GET", "POST"):
            g.routes.append(
                Route(
                    method=method,
                    path=f"/c{i}/{bad}",
                    handler="shop.catalog:view",
                    framework="flask",
                    file="shop/catalog.py",
                    line=i + 1,
                )
            )
        g.routes.append(
            Route(
                method="GET",
                path=bad,
                handler="shop.orders:view",
                framework="flask",
                file="shop/orders.py",
                line=i + 1,
            )
        )
        g.tables[bad] = Table(
            name=bad, model=None, readers=["shop.catalog"], writers=["shop.orders"]
        )
    g.externals["shop.catalog"] = [
        ExternalImport("flask", "Flask"),
        ExternalImport("evil", "evil\nRUN curl x | sh"),
    ]
    return g.finalize()


def hostile_plan() -> Plan:
    return Plan(
        services={
            "catalog": Service(
                name="catalog",
                modules=["shop.catalog"],
                tables=HOSTILE[:7],
                routes=[f"GET /r/{b}" for b in HOSTILE] + ["GET " + HOSTILE[1]],
                interface=HOSTILE[:3],
            ),
            "orders": Service(
                name="orders", modules=["shop.orders"], tables=HOSTILE[7:], depends_on=["catalog"]
            ),
        },
        meta={
            "framework": "flask",
            "project": "$(id)\nname",
            "static_path": "/st{{1}}\n;",
            "monolith_service": "mono\nlith",
        },
    )


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "out"
    scaffold(hostile_plan(), hostile_graph(), out, with_=("prometheus-operator", "cloudnative-pg"))
    return out


def _files(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_everything_stays_inside_out(hostile_out) -> None:
    root = hostile_out.resolve()
    parent = root.parent
    assert sorted(p.name for p in parent.iterdir()) == ["out"]
    for p in root.rglob("*"):
        assert p.resolve().is_relative_to(root)
        assert not p.is_symlink()
        rel = p.relative_to(root).as_posix()
        assert all(c.isascii() and c.isprintable() for c in rel), rel
    assert not Path("/tmp/migrator-pwned").exists()


def test_yaml_stays_structured(hostile_out) -> None:
    label = __import__("re").compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
    files = _files(hostile_out)
    yamls = {k: v for k, v in files.items() if k.endswith((".yaml", ".yml"))}
    assert "compose.yaml" in yamls and any(k.startswith("deploy/k8s/") for k in yamls)
    for rel, text in yamls.items():
        docs = [d for d in yaml.safe_load_all(text) if d is not None]  # SafeLoader: no tags
        assert docs, rel
        for doc in docs:
            if isinstance(doc, dict) and "metadata" in doc and "name" in doc["metadata"]:
                assert label.match(doc["metadata"]["name"]), (rel, doc["metadata"]["name"])
    compose = yaml.safe_load(files["compose.yaml"])
    assert set(compose) <= {"name", "services", "volumes"}
    assert all(label.match(name) for name in compose["services"])
    assert label.match(compose["name"])


def test_dockerfiles_and_requirements_have_no_injected_lines(hostile_out) -> None:
    files = _files(hostile_out)
    dockerfiles = {k: v for k, v in files.items() if k.endswith("Dockerfile")}
    assert len(dockerfiles) == 3  # two services and the monolith
    instructions = {
        "FROM",
        "RUN",
        "COPY",
        "ENV",
        "WORKDIR",
        "USER",
        "EXPOSE",
        "HEALTHCHECK",
        "CMD",
        "ARG",
        "LABEL",
        "ENTRYPOINT",
        "STOPSIGNAL",
    }
    for rel, text in dockerfiles.items():
        logical = text.replace("\\\n", " ")
        for line in logical.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                assert line.split()[0] in instructions, (rel, line)
        assert "curl x" not in text and "$(touch" not in text and "`id`" not in text
    for rel, text in files.items():
        if rel.endswith("requirements.txt"):
            assert "curl" not in text and "evil\n" not in text, rel


def test_no_template_expression_from_data_was_evaluated(hostile_out) -> None:
    for rel, text in _files(hostile_out).items():
        assert "t49" not in text and "/st1" not in text, rel


def test_generated_python_compiles(hostile_out) -> None:
    for rel, text in _files(hostile_out).items():
        if rel.endswith(".py"):
            compile(text, rel, "exec")  # route strings are Python literals, never code


def test_nginx_accepts_the_gateway_with_hostile_routes(hostile_out, tmp_path) -> None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        pytest.fail("nginx is not installed: run scripts/bootstrap.sh --test")
    conf = (hostile_out / "gateway" / "nginx.local.conf").read_text()
    assert "return 200" not in conf
    (tmp_path / "tmp").mkdir()
    (tmp_path / "nginx.local.conf").write_text(conf)
    done = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.local.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "x\\y", "a\x00b"])
def test_service_names_that_would_escape_out_are_errors(tmp_path, name) -> None:
    plan = Plan(services={name: Service(name=name, modules=["shop.catalog"])})
    with pytest.raises(ScaffoldError, match="escape"):
        scaffold(plan, hostile_graph(), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil").exists()


def test_unicode_and_symbol_service_names_become_dns_labels(tmp_path) -> None:
    plan = Plan(
        services={
            "Kätalog Ünï": Service(name="Kätalog Ünï", modules=["shop.catalog"]),
            "$(id)": Service(name="$(id)", modules=["shop.orders"]),
        }
    )
    result = scaffold(plan, hostile_graph(), tmp_path / "out")
    services = sorted(p.name for p in (tmp_path / "out" / "services").iterdir())
    assert services == ["id", "katalog-uni"]
    assert result.files


# -- user templates run in a sandbox --------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ().__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('touch /tmp/migrator-pwned').read() }}",
        "{{ self._TemplateReference__context }}",
        "{% set x = [].append.__self__ %}{{ x.__class__.__mro__ }}",
    ],
)
def test_user_templates_render_in_a_sandbox(tmp_path, payload) -> None:
    templates = tmp_path / "templates" / "service" / "common"
    templates.mkdir(parents=True)
    (templates / "Dockerfile.j2").write_text(payload + "\n")
    out = tmp_path / "out"
    plan = Plan(services={"catalog": Service(name="catalog", modules=["shop.catalog"])})
    with pytest.raises(ScaffoldError) as info:
        scaffold(plan, hostile_graph(), out, templates=tmp_path / "templates")
    assert "Dockerfile.j2" in str(info.value)
    assert (
        "unsafe" in str(info.value)
        or "undefined" in str(info.value)
        or "not safely" in str(info.value)
        or "has no attribute" in str(info.value)
    )
    assert not out.exists()
    assert not Path("/tmp/migrator-pwned").exists()


def test_sandbox_raises_security_error() -> None:
    from jinja2.exceptions import SecurityError

    from migrator.generation.render import environment

    env = environment(None)
    with pytest.raises(SecurityError):
        env.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()


# -- atomic output -----------------------------------------------------------------------------


def _two_versions(tmp_path):
    out = tmp_path / "out"
    g = hostile_graph()
    v1 = Plan(
        services={
            "catalog": Service(name="catalog", modules=["shop.catalog"], routes=["GET /a"]),
            "orders": Service(name="orders", modules=["shop.orders"]),
        }
    )
    v2 = Plan(
        services={
            "catalog": Service(
                name="catalog",
                modules=["shop.catalog"],
                routes=["GET /b", "POST /c"],
                tables=["t1"],
            ),
            "orders": Service(name="orders", modules=["shop.orders"], depends_on=["catalog"]),
        }
    )
    scaffold(v1, g, out)
    old = _files(out)
    fresh = tmp_path / "fresh"
    scaffold(v2, g, fresh)
    new = _files(fresh)
    return out, g, v2, old, new


@pytest.mark.parametrize("fail_at", [1, 2, 7])
def test_a_failure_halfway_leaves_whole_files(tmp_path, monkeypatch, fail_at) -> None:
    out, g, v2, old, new = _two_versions(tmp_path)
    edited = out / "services" / "catalog" / "README.md"
    edited.write_text("my notes\n")  # a user's edit must survive everything below
    calls = {"n": 0}
    real = fs.atomic_write

    def flaky(path, content, *a, **k):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, content, *a, **k)

    monkeypatch.setattr(writer, "atomic_write", flaky)
    with pytest.raises(OSError, match="No space left"):
        _scaffold_forcing_readme(v2, g, out)
    monkeypatch.undo()
    now = _files(out)
    now.pop("services/catalog/README.md")
    expected = {rel: text for rel, text in old.items() if rel != "services/catalog/README.md"}
    assert now == expected  # the previous output, intact: no file new, none half-written
    assert not [p for p in out.rglob("*.tmp")]
    assert edited.read_text() == "my notes\n"
    with pytest.raises(ScaffoldError, match="README.md"):  # still protected after the crash
        scaffold(v2, g, out)


def _scaffold_forcing_readme(plan, g, out):
    """Scaffold with the edited README moved aside, so the run gets as far as writing."""
    readme = out / "services" / "catalog" / "README.md"
    saved = readme.read_text()
    readme.unlink()
    try:
        return scaffold(plan, g, out)
    finally:
        readme.write_text(saved)


def test_rerun_after_a_crash_completes(tmp_path, monkeypatch) -> None:
    out, g, v2, old, new = _two_versions(tmp_path)
    calls = {"n": 0}
    real = fs.atomic_write

    def flaky(path, content, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # Ctrl-C halfway through
        return real(path, content, *a, **k)

    monkeypatch.setattr(writer, "atomic_write", flaky)
    with pytest.raises(KeyboardInterrupt):
        scaffold(v2, g, out)
    monkeypatch.undo()
    scaffold(v2, g, out)  # no --force needed: its own half-written output is recognised
    assert {k: v for k, v in _files(out).items() if k != writer.MANIFEST} == {
        k: v for k, v in new.items() if k != writer.MANIFEST
    }


@pytest.mark.parametrize("stage", ["write", "fsync", "replace"])
def test_atomic_write_on_a_full_disk(tmp_path, monkeypatch, stage) -> None:
    target = tmp_path / "f.txt"
    target.write_text("previous\n")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "write":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                full()

        monkeypatch.setattr(fs.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(fs.os, stage, full)
    with pytest.raises(OSError) as info:
        fs.atomic_write(target, "new content\n" * 1000)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


# -- reports carry names from the analysed code too ---------------------------------------------

XSS = "</script><script>alert('xss')</script><img src=x onerror=alert(1)>"


def test_reports_escape_hostile_names() -> None:
    import json
    import xml.etree.ElementTree as ET

    import migrator
    from migrator.reporting import render

    g = hostile_graph()
    g.routes.append(
        Route(
            method="GET",
            path="/" + XSS,
            handler="shop.catalog:view",
            framework="flask",
            file="shop/catalog.py",
            line=3,
        )
    )
    g.tables[XSS] = Table(
        name=XSS, readers=["shop.catalog", "shop.orders"], writers=["shop.orders"]
    )
    g.add_node("shop.catalog:x", "function", file="shop/catalog.py", line=1, end_line=2)
    g.add_edge("shop.orders", "shop.catalog:x", "reference", [f"shop/orders.py\n{XSS}:5"])
    g.finalize()
    plan = Plan(
        services={
            "catalog": Service(name="catalog", modules=["shop.catalog"]),
            "orders": Service(name="orders", modules=["shop.orders"], tables=[XSS]),
        }
    )
    rep = migrator.report(g, plan, cwd="/nonexistent/shop")
    out = {fmt: render(rep, fmt) for fmt in ("markdown", "json", "sarif", "junit", "html")}
    assert "<script>alert" not in out["html"] and "<img src=x" not in out["html"]
    ET.fromstring(out["junit"])  # well-formed XML whatever the names
    assert XSS in json.dumps(json.loads(out["sarif"])) or "alert" in out["sarif"]
    json.loads(out["json"])
    for line in out["markdown"].splitlines():  # outside code spans, no live HTML from names
        outside = "".join(line.split("`")[0::2])
        assert "<script>" not in outside and "<img" not in outside, line


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MiB tmpfs, so that ENOSPC comes from the kernel rather than from a patch."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "disk"
    where.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
            capture_output=True,
            timeout=30,
        ).returncode
        != 0
    ):
        pytest.skip("this sandbox does not allow mounting a tmpfs")
    try:
        yield where
    finally:
        done = subprocess.run(["umount", str(where)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"the test's tmpfs stays mounted: {done.stderr}"


def test_a_really_full_disk_leaves_the_previous_output(tiny_disk) -> None:
    g = hostile_graph()
    small = Plan(services={"catalog": Service(name="catalog", modules=["shop.catalog"])})
    names = ["orders", "cart", "users", "search", "ship", "stock"]
    big = Plan(
        services={
            "catalog": Service(name="catalog", modules=["shop.catalog"]),
            **{n: Service(name=n, depends_on=["catalog"]) for n in names},
        }
    )
    target = tiny_disk / "out"
    scaffold(small, g, target)
    old = _files(target)
    free = shutil.disk_usage(tiny_disk).free
    # room for the interim manifest and a few files, not for six more services
    (tiny_disk / "filler").write_bytes(b"\0" * max(0, free - 64 * 1024))
    with pytest.raises(OSError) as info:
        scaffold(big, g, target)
    assert info.value.errno == errno.ENOSPC
    assert _files(target) == old  # the previous output, intact
    assert not [p for p in target.rglob("*.tmp")]
    (tiny_disk / "filler").unlink()
    result = scaffold(big, g, target)  # with room again, the run completes without --force
    assert all((target / "services" / n / "Dockerfile").is_file() for n in names)
    assert result.written
