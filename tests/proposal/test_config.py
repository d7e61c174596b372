"""Options: parsing, validation with file and key in every error, glob semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.plan import PlanError
from migrator.proposal import propose
from migrator.proposal.config import (
    DEFAULT_WEIGHTS,
    build_options,
    find_config,
    glob_match,
    parse_services,
    read_config_file,
)
from migrator.proposal.explain import explain, format_explanation
from migrator.proposal.synthetic import synthetic_monolith


def test_parse_services() -> None:
    assert parse_services("5") == (5, 5) and parse_services(" 3 - 9 ") == (3, 9)
    assert parse_services(4) == (4, 4) and parse_services(None) is None
    for bad in ("0", "9-3", "a", "3-", True):
        with pytest.raises(PlanError):
            parse_services(bad)


def test_build_options_collects_every_problem() -> None:
    with pytest.raises(PlanError) as exc:
        build_options(
            {"seed": "x", "weights": {"import": -1}, "pin": ["a"], "apart": [["a"]], "colour": 1},
            source="proj/migrator.yaml",
        )
    text = str(exc.value)
    for part in (
        "proj/migrator.yaml: seed: must be an integer",
        "weights: must map",
        "pin: must map",
        "apart: must be a list of lists",
        "colour: unknown option",
    ):
        assert part in text
    with pytest.raises(PlanError, match="weights.bogus: unknown kind"):
        build_options({"weights": {"bogus": 1}})
    opts = build_options({"weights": {"import": 2}, "services": "2-5"}, seed=7, services=None)
    assert opts.weights["import"] == 2.0 and opts.weights["orm"] == DEFAULT_WEIGHTS["orm"]
    assert opts.services == (2, 5) and opts.seed == 7  # None overrides nothing


def test_find_config_prefers_migrator_yaml(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[tool.migrator.propose]\nseed = 3\n")
    assert find_config(tmp_path) == ({"seed": 3}, str(tmp_path / "pyproject.toml"))
    (tmp_path / "migrator.yaml").write_text("propose:\n  seed: 4\n")
    assert find_config(tmp_path)[0] == {"seed": 4}
    (tmp_path / "migrator.yaml").write_text("propose: [1, 2\n")
    with pytest.raises(PlanError, match=r"migrator.yaml: line \d+: not valid YAML"):
        find_config(tmp_path)
    cfg = tmp_path / "other.yaml"
    cfg.write_text("seed: 9\n")
    assert read_config_file(cfg) == {"seed": 9}


def test_glob_semantics() -> None:
    assert glob_match("shop.cart", "shop.cart.views:add")
    assert glob_match("shop.cart", "shop.cart")
    assert not glob_match("shop.cart", "shop.cartography")
    assert glob_match("shop.*.models", "shop.cart.models:Cart")
    assert glob_match("shop.models:Ca*", "shop.models:Cart")
    assert not glob_match("shop.models:Ca*", "shop.models:Order")


def test_explain_without_the_graph_shows_the_stored_placement() -> None:
    graph, _ = synthetic_monolith(domains=3, modules_per_domain=3)
    plan = propose(graph)
    data = explain(plan, "shop.dom1.m0")
    assert data["service"] == "dom1" and data["placement"]["service"] == "dom1"
    assert "weight_by_service" not in data
    text = format_explanation(data)
    assert text.startswith("shop.dom1.m0: dom1\n  placement: weight ")
    full = explain(plan, "shop.dom1.m0", graph)
    assert full["edges_to_service"] and full["edges_to_service"][0]["service"] == "dom1"
    assert all(e["evidence"] is not None for e in full["edges_to_service"])
