"""scaffold's behaviour: content, determinism, idempotence, user edits, atomicity, safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main
from migrator.generation import MANIFEST, ScaffoldError, build_project, render_all, scaffold
from migrator.plan import Plan, Service, dump_plan

from .fixtures import make_graph, make_plan

ROOT = Path(__file__).resolve().parents[2]


def load(out: Path, rel: str):
    return yaml.safe_load((out / rel).read_text())


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_flask_service_layout_and_stubs(generated):
    svc = generated["flask"] / "services/catalog"
    for rel in (
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "README.md",
        "catalog_service/app.py",
        "catalog_service/wsgi.py",
        "tests/test_service.py",
    ):
        assert (svc / rel).is_file(), rel
    stubs = (svc / "catalog_service/stubs.py").read_text()
    assert (
        "('/products/<int:product_id>', ('GET',), ('GET /products/<int:product_id>',), "
        "('shop.catalog.views:show',))" in stubs
    )
    # routes of other services and unassigned routes are not stubbed here
    assert "/cart" not in stubs and "slug" not in stubs


def test_fastapi_and_django_use_their_own_path_syntax(generated):
    fastapi = (generated["fastapi"] / "services/cart/cart_service/stubs.py").read_text()
    assert "'/api/cart/items/{item_id:int}'" in fastapi
    django = (generated["django"] / "services/orders/orders_service/stubs.py").read_text()
    assert "'orders/<int:pk>/'" in django
    assert (generated["django"] / "services/orders/orders_service/settings.py").is_file()


def test_requirements_come_from_the_service_imports(generated):
    cart = (generated["flask"] / "services/cart/requirements.txt").read_text().split("\n")
    orders = (generated["flask"] / "services/orders/requirements.txt").read_text().split("\n")
    catalog = (generated["flask"] / "services/catalog/requirements.txt").read_text().split("\n")
    assert "requests" in orders and "requests" not in cart
    assert "SQLAlchemy" in catalog and "SQLAlchemy" not in cart
    assert "Flask==3.1.3" in cart and "gunicorn==27.0.1" in cart
    fastapi = (generated["fastapi"] / "services/cart/requirements.txt").read_text()
    assert "uvicorn-worker==" in fastapi and "fastapi==" in fastapi


def test_requirements_use_the_monolith_pins(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "flask==2.3.3  # pinned\nrequests>=2.31,<3 ; python_version >= '3.8'\n-e .\n"
        "git+https://example.invalid/x.git\n"
    )
    out = tmp_path / "out"
    scaffold(make_plan("flask"), make_graph("flask", root=str(tmp_path)), out)
    reqs = (out / "services/orders/requirements.txt").read_text()
    assert "Flask==2.3.3" not in reqs and "flask==2.3.3" in reqs
    assert (
        "requests<3,>=2.31 ; python_version >= '3.8'" in reqs
        or "requests>=2.31,<3 ; python_version >= '3.8'" in reqs
    )


def test_deployment_hardening(generated):
    dep = load(generated["flask"], "deploy/k8s/base/cart/deployment.yaml")
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert "replicas" not in dep["spec"]  # the HPA owns the count
    hpa = load(generated["flask"], "deploy/k8s/base/cart/hpa.yaml")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "cart" and hpa["spec"]["minReplicas"] >= 2
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert {
        c["startupProbe"]["httpGet"]["path"],
        c["livenessProbe"]["httpGet"]["path"],
        c["readinessProbe"]["httpGet"]["path"],
    } == {"/healthz", "/readyz"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert spec["topologySpreadConstraints"]
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    env = {e["name"]: e for e in c["env"]}
    assert env["DATABASE_URL"]["value"].endswith("@cart-db-rw:5432/app")
    assert env["DATABASE_READ_URL"]["value"].endswith("@cart-db-ro:5432/app")
    cluster = load(generated["flask"], "deploy/k8s/base/cart/database.yaml")
    assert cluster["spec"]["instances"] == 3


def test_without_cnpg_database_urls_come_from_a_secret(tmp_path):
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    c = load(tmp_path, "deploy/k8s/base/cart/deployment.yaml")["spec"]["template"]["spec"][
        "containers"
    ][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
    assert refs == {
        "DATABASE_URL": {"name": "cart-database", "key": "DATABASE_URL"},
        "DATABASE_READ_URL": {"name": "cart-database", "key": "DATABASE_READ_URL"},
    }
    assert not (tmp_path / "deploy/k8s/base/cart/database.yaml").exists()
    assert not (tmp_path / "deploy/k8s/base/cart/servicemonitor.yaml").exists()


def test_network_policies_follow_the_plan(generated):
    def sources(name):
        pol = load(generated["flask"], f"deploy/k8s/base/{name}/networkpolicy.yaml")
        found = []
        for rule in pol["spec"]["ingress"]:
            for src in rule["from"]:
                if "podSelector" in src:
                    found.append(src["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
                else:
                    found.append(
                        src["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    )
        return sorted(found)

    assert sources("catalog") == ["cart", "ingress-nginx", "monitoring"]
    assert sources("cart") == ["ingress-nginx", "monitoring", "orders"]
    assert sources("orders") == ["ingress-nginx", "monitoring"]


def test_ingress_and_gateway_route_the_same(generated):
    out = generated["flask"]
    ing = load(out, "deploy/k8s/base/ingress.yaml")
    assert ing["spec"]["defaultBackend"]["service"]["name"] == "monolith"
    rules = {
        (p["path"], p["pathType"], p["backend"]["service"]["name"])
        for p in ing["spec"]["rules"][0]["http"]["paths"]
    }
    assert rules == {
        ("/cart", "Exact", "cart"),
        ("/cart/items", "Prefix", "cart"),
        ("/orders", "Prefix", "orders"),
        ("/products", "Prefix", "catalog"),
    }
    # TLS on the host, the certificate from cert-manager
    assert ing["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    assert ing["spec"]["rules"][0]["host"] == "shop.example.com"
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    conf = (out / "gateway/nginx.local.conf").read_text()
    for path, kind, svc in rules:
        assert f"location = {path} {{\n            proxy_pass http://svc_{svc};" in conf
        if kind == "Prefix":
            assert f"location {path}/ {{\n            proxy_pass http://svc_{svc};" in conf
    static = load(out, "deploy/k8s/base/ingress-static.yaml")
    assert static["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/static"
    assert "cache-control" in json.dumps(static["metadata"]["annotations"]).lower()
    assert 'add_header Cache-Control "public, max-age=300" always' in conf
    hashed = load(out, "deploy/k8s/base/ingress-static-hashed.yaml")
    assert "immutable" in hashed["metadata"]["annotations"]["migrator.dev/cache-control"]
    assert hashed["spec"]["rules"][0]["http"]["paths"][0]["path"].startswith("/static/.+")


def test_compose_runs_services_postgres_and_gateway(generated):
    compose = load(generated["flask"], "compose.yaml")
    assert {"cart", "catalog", "orders", "postgres", "gateway", "monolith"} == set(
        compose["services"]
    )
    cart = compose["services"]["cart"]
    assert cart["environment"]["DATABASE_URL"].endswith("@postgres:5432/cart")
    assert cart["environment"]["CATALOG_URL"] == "http://catalog:8000"
    sql = (generated["flask"] / "deploy/compose/initdb/01-databases.sql").read_text()
    assert 'CREATE DATABASE "cart";' in sql


def test_migration_md_orders_least_coupled_first(generated):
    text = (generated["flask"] / "MIGRATION.md").read_text()
    order = [
        line.split("`")[1]
        for line in text.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    ]
    assert order == ["catalog", "cart", "orders"]
    assert "writes table `cart_items` (owned by cart)" in text
    assert "CKV_K8S_43" in text


def test_generated_files_are_world_readable(generated):
    """Images copy the package for uid 10001: a 0600 file would not import in the container."""
    for path in (generated["flask"] / "services/cart").rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o644, path


def test_rerun_rewrites_nothing(tmp_path):
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    before = snapshot(tmp_path)
    result = scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    assert result.written == [] and result.removed == []
    assert snapshot(tmp_path) == before


def test_output_is_identical_across_hash_seeds(tmp_path):
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from fixtures import make_graph, make_plan\n"
        "from migrator.generation import scaffold\n"
        "scaffold(make_plan('django'), make_graph('django'), sys.argv[1],"
        " with_=('cloudnative-pg', 'prometheus-operator'))\n"
    )
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run(
            [sys.executable, "-c", code, str(out)],
            check=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outs.append({k: v[0] for k, v in snapshot(out).items()})
    assert outs[0] == outs[1]


def test_user_edits_are_kept_unless_forced(tmp_path):
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    edited = tmp_path / "services/cart/cart_service/app.py"
    edited.write_text(edited.read_text() + "\n# my change\n")
    plan = make_plan("flask")
    plan.services["cart"].routes.append("GET /cart/summary")  # something to regenerate
    before = snapshot(tmp_path)
    with pytest.raises(ScaffoldError, match="app.py: edited since migrator generated it"):
        scaffold(plan, make_graph("flask"), tmp_path)
    assert snapshot(tmp_path) == before  # refused before writing anything
    result = scaffold(plan, make_graph("flask"), tmp_path, force=True)
    assert "services/cart/cart_service/app.py" in result.written
    assert "# my change" not in edited.read_text()
    assert "/cart/summary" in (tmp_path / "services/cart/cart_service/stubs.py").read_text()


def test_foreign_file_in_the_way_is_not_overwritten(tmp_path):
    (tmp_path / "compose.yaml").write_text("mine: true\n")
    with pytest.raises(ScaffoldError, match="not generated by migrator"):
        scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    assert (tmp_path / "compose.yaml").read_text() == "mine: true\n"
    assert not (tmp_path / "services").exists()


def test_removed_service_files_are_deleted_but_edited_ones_kept(tmp_path):
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    kept = tmp_path / "services/orders/README.md"
    kept.write_text("my notes\n")
    plan = make_plan("flask")
    del plan.services["orders"]
    plan.services["cart"].depends_on = ["catalog"]
    result = scaffold(plan, make_graph("flask"), tmp_path)
    assert "services/orders/Dockerfile" in result.removed
    assert not (tmp_path / "services/orders/Dockerfile").exists()
    assert result.kept == ["services/orders/README.md"] and kept.read_text() == "my notes\n"
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert "services/orders/Dockerfile" not in manifest["files"]


def test_failure_while_rendering_leaves_previous_output(tmp_path):
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path / "out")
    before = snapshot(tmp_path / "out")
    broken = tmp_path / "tpl/service/common"
    broken.mkdir(parents=True)
    (broken / "README.md.j2").write_text("{{ no_such_variable }}\n")
    plan = make_plan("flask")
    plan.services["cart"].routes.append("GET /cart/summary")
    with pytest.raises(ScaffoldError, match="README.md.j2"):
        scaffold(plan, make_graph("flask"), tmp_path / "out", templates=tmp_path / "tpl")
    assert snapshot(tmp_path / "out") == before


def test_interrupted_write_is_not_mistaken_for_a_user_edit(tmp_path, monkeypatch):
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    plan = make_plan("flask")
    plan.services["cart"].routes.append("GET /cart/summary")
    plan.services["catalog"].routes.append("GET /products-feed")
    import migrator.generation.writer as writer

    real = writer.atomic_write
    calls = {"n": 0}

    def failing(path, data, mode=None):
        calls["n"] += 1
        if calls["n"] == 3:  # manifest, one file, then the disk "fills up"
            raise OSError(28, "No space left on device")
        return real(path, data, mode)

    monkeypatch.setattr(writer, "atomic_write", failing)
    with pytest.raises(OSError):
        scaffold(plan, make_graph("flask"), tmp_path)
    monkeypatch.setattr(writer, "atomic_write", real)
    result = scaffold(plan, make_graph("flask"), tmp_path)  # no --force needed
    assert result.written


def test_template_override_is_file_by_file_and_sandboxed(tmp_path):
    tpl = tmp_path / "tpl/service/common"
    tpl.mkdir(parents=True)
    (tpl / "README.md.j2").write_text("custom {{ service.name }}\n")
    scaffold(make_plan("flask"), make_graph("flask"), tmp_path / "out", templates=tmp_path / "tpl")
    assert (tmp_path / "out/services/cart/README.md").read_text() == "custom cart\n"
    assert "FROM python:" in (tmp_path / "out/services/cart/Dockerfile").read_text()
    (tpl / "README.md.j2").write_text("{{ service.__class__.__init__.__globals__ }}\n")
    with pytest.raises(ScaffoldError, match="template error"):
        scaffold(
            make_plan("flask"), make_graph("flask"), tmp_path / "out2", templates=tmp_path / "tpl"
        )


@pytest.mark.parametrize("name", ["../evil", "a/b", ".."])
def test_service_name_escaping_out_is_an_error(tmp_path, name):
    plan = make_plan("flask")
    plan.services[name] = Service(name=name)
    with pytest.raises(ScaffoldError, match="escape"):
        scaffold(plan, make_graph("flask"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_hostile_names_are_sanitised(tmp_path):
    plan = Plan(
        services={
            "Cart_Ünïcode {{x}}": Service(
                name="x", routes=["GET /a\nb", "GET /ok/<int:id>"], tables=["t"]
            )
        },
        meta={"project": "My Shop: $(rm -rf /)"},
    )
    graph = make_graph("flask")
    model = build_project(plan, graph)
    files = render_all(model)
    svc = model.services[0]
    assert svc.name == "cart-unicode-x" and svc.package == "cart_unicode_x_service"
    assert model.name == "my-shop-rm-rf"
    assert all(".." not in Path(p).parts for p in files)
    assert any("'/a\\nb'" in u for u in svc.unroutable) and len(svc.stubs) == 1
    blob = b"".join(files.values())
    assert b"$(rm" not in blob and b"{{x}}" not in blob


def test_unknown_extra_is_an_error(tmp_path):
    with pytest.raises(ScaffoldError, match="unknown option"):
        scaffold(make_plan("flask"), make_graph("flask"), tmp_path, with_=("istio",))


def test_framework_detection_without_meta():
    from migrator.generation.model import detect_framework

    for fw in ("flask", "fastapi", "django"):
        plan = make_plan(fw)
        plan.meta = {}
        assert detect_framework(make_graph(fw), plan) == fw


def test_cli_with_a_graph_file(tmp_path):
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(make_graph("fastapi").to_dict()))
    plan = tmp_path / "plan.yaml"
    plan.write_text(dump_plan(make_plan("fastapi")))
    runner = CliRunner()
    res = runner.invoke(
        main,
        [
            "scaffold",
            str(graph),
            "--plan",
            str(plan),
            "-o",
            str(tmp_path / "out"),
            "--with",
            "prometheus-operator",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "written" in res.output
    assert (tmp_path / "out/deploy/k8s/base/cart/servicemonitor.yaml").is_file()
    res = runner.invoke(
        main,
        [
            "scaffold",
            str(graph),
            "--plan",
            str(tmp_path / "nope.yaml"),
            "-o",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 2 and "nope.yaml: cannot read" in res.output


def test_any_method_routes_are_stubbed_for_every_verb(tmp_path):
    from migrator.graph import Route

    graph = make_graph("django")
    graph.routes.append(
        Route(
            method="ANY",
            path="/products/feed/",
            handler="shop.catalog.views:feed",
            framework="django",
            file="shop/urls.py",
            line=9,
        )
    )
    graph.finalize()
    model = build_project(make_plan("django"), graph)
    stub = next(s for s in model.service("catalog").stubs if s.path == "products/feed/")
    assert stub.methods == ("DELETE", "GET", "PATCH", "POST", "PUT")
    assert stub.original == ("ANY /products/feed/",)
    assert stub.handlers == ("shop.catalog.views:feed",)


@pytest.mark.parametrize("name", ["postgres", "gateway", "monolith"])
def test_reserved_service_names_are_refused(tmp_path, name):
    plan = make_plan("flask")
    plan.services[name] = Service(name=name)
    with pytest.raises(ScaffoldError, match="reserved"):
        scaffold(plan, make_graph("flask"), tmp_path / "out")


def test_long_names_are_shortened_to_fit_kubernetes(tmp_path):
    plan = make_plan("flask")
    plan.services["x" * 63] = Service(name="x" * 63, tables=["t"])
    model = build_project(plan, make_graph("flask"), extras=("cloudnative-pg",))
    assert max(len(s.name) for s in model.services) == 40


def test_yaml_has_no_anchors(generated):
    for path in (generated["django"] / "deploy").rglob("*.yaml"):
        text = path.read_text()
        assert "&id0" not in text and "*id0" not in text, path


def test_names_in_markdown_cannot_break_out_of_code_spans(tmp_path):
    plan = make_plan("flask")
    plan.services["catalog"].tables.append("evil`\n| x")
    graph = make_graph("flask")
    scaffold(plan, graph, tmp_path)
    text = (tmp_path / "MIGRATION.md").read_text()
    assert "`evil' \\| x`" in text
    assert "evil`" not in text


def test_objects_refer_to_each_other_consistently(generated):
    base = generated["fastapi"] / "deploy/k8s/base"
    for name in ("cart", "catalog", "orders"):
        dep = load(base, f"{name}/deployment.yaml")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        for kind in ("service", "pdb", "networkpolicy"):
            obj = load(base, f"{name}/{kind}.yaml")
            selector = obj["spec"].get("selector") or obj["spec"]["podSelector"]
            labels = selector.get("matchLabels", selector)
            assert labels.items() <= pod_labels.items(), (name, kind)
        assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        assert load(base, f"{name}/hpa.yaml")["spec"]["scaleTargetRef"]["name"] == name
        spec = dep["spec"]["template"]["spec"]
        assert (
            spec["serviceAccountName"]
            == load(base, f"{name}/serviceaccount.yaml")["metadata"]["name"]
        )
        assert (
            spec["containers"][0]["envFrom"][0]["configMapRef"]["name"]
            == load(base, f"{name}/configmap.yaml")["metadata"]["name"]
        )
        files = set(load(base, f"{name}/kustomization.yaml")["resources"])
        assert files == {p.name for p in (base / name).iterdir()} - {"kustomization.yaml"}
