"""What the code is about: cluster vocabularies (``proposal/concerns.py``) and their say when
the service count makes whole capabilities merge."""

from __future__ import annotations

import pytest

from migrator.graph import DependencyGraph
from migrator.proposal import propose
from migrator.proposal.concerns import Concerns
from migrator.proposal.synthetic import layered_monolith


def test_a_word_every_cluster_uses_weighs_nothing_and_a_rare_shared_one_most() -> None:
    words = {
        "a": {"session": 9, "item": 4, "quantity": 2},
        "b": {"session": 9, "item": 3, "quantity": 5},
        "c": {"session": 9, "payment": 6},
        "d": {"session": 9, "address": 2},
    }
    c = Concerns({1: ["a"], 2: ["b"], 3: ["c"], 4: ["d"]}, words)
    assert c.similarity(1, 2) > 0.9  # item and quantity, each in two of four clusters
    assert c.similarity(1, 3) == 0.0  # only "session", which every cluster uses
    assert sorted(c.shared(1, 2)) == ["item", "quantity"]
    assert c.shared(1, 3) == []
    # merging keeps the counts and the document frequencies in step
    c.merge(2, 3)
    assert c.words[3]["quantity"] == 5 and c.df["quantity"] == 2 and c.df["session"] == 3
    assert c.similarity(1, 3) > 0.0


MANY = (
    "orders", "products", "customers", "invoices", "shipments", "carts", "checkouts",
    "reviews", "returns", "payments", "vendors", "coupons", "wishlists",
)  # fmt: skip


def _with_wishlists(
    vocabulary: bool, entities: tuple[str, ...] = MANY, size: int = 20
) -> DependencyGraph:
    """Twelve entities (by default), each a vertical slice across models/repos/services/api,
    more than a team-sized plan keeps; a small ``wishlists`` slice (``size`` lines a module)
    uses ``checkouts`` a little more than ``carts`` but, like carts, speaks of items,
    quantities and saved lists."""
    graph, _ = layered_monolith(entities=entities)
    g = graph.g
    for m in [n for n in g.nodes if "wishlist" in n and ":" not in n]:
        g.nodes[m]["size"] = size  # the smallest slice: the first to merge
    g_add = graph.add_edge
    g_add("app.services.wishlists_service:handle", "app.services.checkouts_service:handle",
          "reference", count=3)  # fmt: skip
    g_add("app.services.wishlists_service:handle", "app.services.carts_service:handle",
          "reference", count=2)  # fmt: skip
    for n in list(g.nodes):
        if ":" in n or g.nodes[n].get("kind") != "module":
            continue
        said = {"session": 4, "record": 3}
        if vocabulary and ("cart" in n or "wishlist" in n):
            said |= {"item": 5, "quantity": 4, "saved": 2}
        elif vocabulary and "checkout" in n:
            said |= {"payment": 5, "address": 4}
        g.nodes[n]["words"] = said
    return graph.finalize()


def test_a_capability_merged_for_the_count_joins_the_one_it_uses_and_speaks_like() -> None:
    plan = propose(_with_wishlists(vocabulary=True))
    assert len(plan.services) < 13  # the count made slices merge
    wishlist = plan.service_of("app.services.wishlists_service")
    assert wishlist == plan.service_of("app.services.carts_service")
    assert wishlist != plan.service_of("app.services.checkouts_service")
    why = plan.meta["placements"]["app.services.wishlists_service"]["reason"]
    assert "closest by use and vocabulary" in why and "item" in why and "quantity" in why


@pytest.mark.parametrize("vocabulary", [True, False])
def test_a_slice_too_small_for_a_team_joins_the_one_it_uses_and_speaks_like(
    vocabulary: bool,
) -> None:
    """Five slices, a team-sized count already: the wishlists slice merges only because it
    holds less than 1% of the code, and what it speaks of decides where, as for the count."""
    few = ("orders", "products", "carts", "checkouts", "wishlists")
    plan = propose(_with_wishlists(vocabulary, entities=few, size=2))
    assert len(plan.services) == 4
    wishlist = plan.service_of("app.services.wishlists_service")
    assert wishlist == plan.service_of(
        "app.services.carts_service" if vocabulary else "app.services.checkouts_service"
    )
    if vocabulary:
        why = plan.meta["placements"]["app.services.wishlists_service"]["reason"]
        assert why.startswith("too small for a team of its own: merged into the capability")


def test_without_words_or_with_the_weight_at_zero_use_alone_decides() -> None:
    for plan in (
        propose(_with_wishlists(vocabulary=False)),
        propose(_with_wishlists(vocabulary=True), weights={"vocabulary": 0.0}),
    ):
        assert plan.service_of("app.services.wishlists_service") == plan.service_of(
            "app.services.checkouts_service"
        )


def test_a_cluster_without_words_merges_like_any_other() -> None:
    """A cluster of tables alone has no words: merging into or from it keeps the counts."""
    c = Concerns({1: ["a"], 2: ["b"]}, {"a": {"item": 2}, "b": {"item": 3}})
    c.merge(1, 7)
    c.merge(9, 7)
    assert c.words == {2: {"item": 3}, 7: {"item": 2}} and c.df["item"] == 2
    assert c.similarity(7, 2) == 0.0  # a word both of the only two clusters use says nothing
