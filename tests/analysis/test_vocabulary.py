"""The words a module is written in (``analysis/vocabulary.py``): on its module node, from a
cold run, the cache and an edit alike."""

from __future__ import annotations

from migrator.analysis import analyze, analyze_with_stats
from migrator.analysis.formats import render
from migrator.analysis.vocabulary import vocabulary

from .helpers import write_tree

CART = '''"""Saved carts: every cart item keeps its quantity."""

class CartItem:  # a line of a saved cart
    quantity: int = 1

    def total_quantity(self, items):
        return sum(item.quantity for item in items if item is not None)
'''


def test_identifiers_comments_and_strings_give_singular_words_used_twice() -> None:
    got = vocabulary(CART)
    assert got["cart"] == 4  # Carts, CartItem, cart (comment), cart (docstring)
    assert got["item"] == 7  # CartItem, "cart item", items twice, item three times
    assert got["quantity"] == 4
    assert got["saved"] == 2
    # Python's words, English glue, short words and words used once say nothing
    for gone in ("self", "return", "sum", "none", "for", "int", "the", "line", "total", "a"):
        assert gone not in got, gone
    assert list(got) == sorted(got)
    assert vocabulary("") == {} and vocabulary("x = 1\n") == {}


def test_the_words_are_on_the_module_node_and_survive_the_cache_and_an_edit(tmp_path) -> None:
    write_tree(
        tmp_path,
        {
            "proj/shop/__init__.py": "",
            "proj/shop/cart.py": CART,
            "proj/shop/pay.py": "def pay(amount):\n    return amount\n",
        },
    )
    project, cache = tmp_path / "proj", tmp_path / "cache"
    cold = analyze(project, cache_dir=cache, jobs=1)
    assert cold.g.nodes["shop.cart"]["words"]["quantity"] == 4
    assert cold.g.nodes["shop.pay"]["words"] == {"amount": 2}  # "pay" only once
    assert "words" not in cold.g.nodes["shop"]  # an empty package says nothing
    warm = analyze(project, cache_dir=cache, jobs=1)
    assert render(warm, "json") == render(cold, "json")
    # a comment changes the words and nothing else: the node follows, no module is resolved
    with (project / "shop" / "pay.py").open("a") as fh:
        fh.write("# pay the invoice, then the invoice is paid\n")
    edited, stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert stats.resolved == 0
    assert edited.g.nodes["shop.pay"]["words"] == {"amount": 2, "invoice": 2, "pay": 2}
    assert render(edited, "json") == render(analyze(project, use_cache=False, jobs=1), "json")
