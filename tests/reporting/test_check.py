"""`migrator check`: boundary violations as file:line: rule: message, ignore comments, exits."""

from __future__ import annotations

import json

import yaml

from migrator.reporting.ignores import scan

from .conftest import PLAN, SOURCES, build_graph, write_tree
from .helpers import run, save_graph, save_plan


def _check(tmp_path, sources=SOURCES, plan=PLAN, *extra: str):
    root = write_tree(tmp_path / "proj", sources)
    graph_file = save_graph(build_graph(root), tmp_path / "graph.json")
    plan_file = save_plan(plan, tmp_path / "plan.yaml")
    return run("check", str(graph_file), "--plan", str(plan_file), *extra, cwd=root)


def test_violations_are_listed_tach_style_and_exit_1(tmp_path):
    res = _check(tmp_path)
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert (
        "shop/checkout/service.py:8: interface-violation: shop.checkout.service:checkout "
        "(checkout) uses shop.inventory.models:Stock, which is not in the interface of "
        "service 'inventory' [reference]"
    ) in lines
    assert sum(" interface-violation: " in line for line in lines) == 4
    # the interface is honoured: get_product and reserve are not reported
    assert "get_product" not in res.output and "reserve, which" not in res.output
    # report-only rules (cycles, tables) are not check's business
    assert "import-cycle" not in res.output and "shared-table" not in res.output
    assert lines[-1] == "4 error(s), 1 warning(s), 0 ignored, 0 unused ignore(s)"


def test_warnings_pass_unless_strict(tmp_path):
    """A warning alone (a service using one missing from its ``depends_on``) exits 0; with
    ``--strict`` it fails, so a CI gate needs only the exit code."""
    plan = json.loads(json.dumps(PLAN))
    plan["services"]["inventory"]["interface"] += ["shop.inventory.models"]
    plan["services"]["checkout"]["interface"] = ["shop.checkout.service:checkout"]
    res = _check(tmp_path, SOURCES, plan)
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1] == "0 error(s), 1 warning(s), 0 ignored, 0 unused ignore(s)"
    assert " undeclared-dependency: service 'inventory' uses service 'checkout'" in res.output
    res = _check(tmp_path / "strict", SOURCES, plan, "--strict")
    assert res.exit_code == 1, res.output


def test_clean_plan_exits_0(tmp_path):
    plan = json.loads(json.dumps(PLAN))
    plan["services"]["inventory"]["interface"] += ["shop.inventory.models"]
    plan["services"]["checkout"]["interface"] = ["shop.checkout.service:checkout"]
    plan["services"]["inventory"]["depends_on"] = ["checkout"]
    res = _check(tmp_path, SOURCES, plan)
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1] == "0 error(s), 0 warning(s), 0 ignored, 0 unused ignore(s)"


IGNORED = dict(SOURCES)
IGNORED["shop/checkout/service.py"] = """\
    from shop.catalog.api import get_product
    from shop.inventory.models import Stock  # migrator: ignore[interface-violation]
    from shop.inventory import service as inventory_service

    NOTE = "# migrator: ignore[interface-violation] in a string is not a comment"


    def checkout(pid):
        get_product(pid)
        # migrator: ignore[interface-violation, undeclared-dependency]
        Stock()
        inventory_service.reserve(pid)
    """
IGNORED["shop/inventory/service.py"] = """\
    from shop.inventory.models import Stock
    from shop.checkout import service as checkout_service  # migrator: ignore


    def reserve(pid):
        checkout_service.checkout  # migrator: ignore[import-cycle]
        return Stock()  # migrator: ignore[interface-violation]
    """


def test_ignore_comments_silence_named_rules_and_unused_ones_are_reported(tmp_path):
    res = _check(tmp_path, IGNORED)
    lines = res.output.splitlines()
    # left: the reference reserve -> checkout (its ignore names another rule)
    assert [line for line in lines if " interface-violation: " in line] == [
        "shop/inventory/service.py:6: interface-violation: shop.inventory.service:reserve "
        "(inventory) uses shop.checkout.service:checkout, which is not in the interface of "
        "service 'checkout' [reference]"
    ]
    assert res.exit_code == 1
    assert "shop/inventory/service.py:6: unused-ignore:" in res.output
    assert "shop/inventory/service.py:7: unused-ignore:" in res.output
    # the comment alone on line 10 applies to line 11 and is used; the string on line 5 is none
    assert "service.py:10: unused-ignore" not in res.output
    assert "service.py:5: unused-ignore" not in res.output
    assert lines[-1] == "1 error(s), 0 warning(s), 4 ignored, 2 unused ignore(s)"


def test_all_ignored_passes_unless_strict_about_unused_ignores(tmp_path):
    sources = dict(IGNORED)
    sources["shop/inventory/service.py"] = sources["shop/inventory/service.py"].replace(
        "# migrator: ignore[import-cycle]", "# migrator: ignore[interface-violation]"
    )
    res = _check(tmp_path, sources)
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].endswith("1 unused ignore(s)")
    res = _check(tmp_path / "again", sources, PLAN, "--strict")
    assert res.exit_code == 1


def test_check_as_sarif_and_junit(tmp_path):
    res = _check(tmp_path, SOURCES, PLAN, "-f", "sarif")
    assert res.exit_code == 1
    run_ = json.loads(res.output)["runs"][0]
    assert {r["id"] for r in run_["tool"]["driver"]["rules"]} == {
        "interface-violation",
        "kernel-dependency",
        "undeclared-dependency",
    }
    assert sum(r["ruleId"] == "interface-violation" for r in run_["results"]) == 4
    res = _check(tmp_path / "j", SOURCES, PLAN, "-f", "junit")
    assert res.exit_code == 1 and 'tests="3" failures="2"' in res.output


def test_decomposition_file_works_as_a_plan(tmp_path):
    decomposition = {
        "version": 1,
        "kind": "decomposition",
        "services": {
            "catalog": ["shop.catalog"],
            "inventory": ["shop.inventory"],
            "checkout": ["shop.checkout"],
        },
        "shared_kernel": ["shop.config"],
    }
    res = _check(tmp_path, SOURCES, decomposition)
    # no interfaces declared: every use of another service's code is a violation
    assert res.exit_code == 1
    assert sum(" interface-violation: " in line for line in res.output.splitlines()) == 8


def test_kernel_depending_on_a_service_is_an_error(tmp_path):
    root = write_tree(tmp_path / "proj")
    graph = build_graph(root)
    graph.add_edge("shop.config", "shop.catalog.api", "import", evidence=["shop/config.py:1"])
    graph_file = save_graph(graph.finalize(), tmp_path / "graph.json")
    plan_file = save_plan(PLAN, tmp_path / "plan.yaml")
    res = run("check", str(graph_file), "--plan", str(plan_file), cwd=root)
    assert (
        "shop/config.py:1: kernel-dependency: shared kernel code shop.config uses "
        "shop.catalog.api of service 'catalog' [import]" in res.output
    )


def test_bad_plans_are_input_errors(tmp_path):
    root = write_tree(tmp_path / "proj")
    graph_file = save_graph(build_graph(root), tmp_path / "graph.json")
    res = run("check", str(graph_file), "--plan", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2 and "nope.yaml: cannot read" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"version": 1, "services": {"Bad Name": {}}}))
    res = run("check", str(graph_file), "--plan", str(bad))
    assert res.exit_code == 2 and "bad.yaml: services.Bad Name: service name must be" in res.output
    res = run("check", str(graph_file))
    assert res.exit_code == 2 and "--plan" in res.output
    res = run("check", str(tmp_path / "missing"), "--plan", str(bad))
    assert res.exit_code == 2


def test_scan_finds_only_real_comments():
    text = 'x = 1  # migrator: ignore[a, b]\ns = "# migrator: ignore"\n# migrator: ignore\ny = 2\n'
    found = scan(text, "f.py")
    assert [(i.location.line, sorted(i.rules), i.applies_to) for i in found] == [
        (1, ["a", "b"], 1),
        (3, [], 4),
    ]


def test_kernel_using_a_service_interface_is_still_reported(tmp_path):
    root = write_tree(tmp_path / "proj")
    graph = build_graph(root)
    graph.add_edge(
        "shop.config", "shop.catalog.api:get_product", "reference", evidence=["shop/config.py:1"]
    )
    graph_file = save_graph(graph.finalize(), tmp_path / "graph.json")
    plan_file = save_plan(PLAN, tmp_path / "plan.yaml")
    res = run("check", str(graph_file), "--plan", str(plan_file), cwd=root)
    assert "shop/config.py:1: kernel-dependency: " in res.output
    # a warning: it does not change the exit code on its own
    assert res.output.splitlines()[-1].startswith("4 error(s), 2 warning(s)")
