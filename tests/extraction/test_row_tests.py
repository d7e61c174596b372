"""A row of the caller's model handed to another service's function crosses as a read-only
copy where the callee only reads its columns. A copy is never None, is always true (unless
the model defines ``__bool__``/``__len__``) and has every column, so the callee may also test
it (``if wish``, ``wish is None``) and ask ``hasattr(wish, "note")`` for a column, whose other
branch (the key given instead of a row: ``wish.id if hasattr(wish, "id") else wish``) is not
done to a row.

Steps: copy ``fixtures/tinydj_app``, give catalog functions that take orders' ``Wish`` row and
an orders view calling each; build the extraction with test_frameworks' two-service plan, the
functions in catalog's interface; check which calls are converted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .conftest import FIXTURES
from .test_frameworks import DJANGO_PLAN

CALLEES = """

def label_of(wish):
    return wish.note if wish else "none"


def key_of(wish):
    return wish.id if hasattr(wish, "id") else wish


def kept_of(wish):
    if wish is None:
        return ""
    return getattr(wish, "note", "")


def colour_of(wish):
    return wish.note if hasattr(wish, "colour") else wish


def same_of(wish):
    return wish if wish else None


def falsy_of(fancy_wish):
    return fancy_wish.note if fancy_wish else "none"
"""

FANCY = """


class FancyWish(Wish):
    def __len__(self):
        return 0
"""

VIEW = """
from tinydj.catalog import services
from tinydj.orders.models import FancyWish, Wish


def labels(request):
    wish = Wish.objects.first()
    fancy = FancyWish.objects.first()
    return [services.label_of(wish), services.key_of(wish), services.kept_of(wish),
            services.colour_of(wish), services.same_of(wish), services.falsy_of(fancy)]
"""

FUNCS = ["label_of", "key_of", "kept_of", "colour_of", "same_of", "falsy_of"]


def test_a_copy_may_be_tested_and_asked_for_its_columns(tmp_path: Path) -> None:
    from migrator.analysis import analyze

    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "tinydj_app", root)
    services = root / "tinydj" / "catalog" / "services.py"
    services.write_text(services.read_text() + CALLEES)
    models = root / "tinydj" / "orders" / "models.py"
    models.write_text(models.read_text() + FANCY)
    (root / "tinydj" / "orders" / "labels.py").write_text(VIEW)
    data = DJANGO_PLAN.to_dict()
    data["services"]["orders"]["modules"].append("tinydj.orders.labels")
    data["services"]["catalog"]["interface"] += [f"tinydj.catalog.services:{f}" for f in FUNCS]
    ex = build_extraction(plan_from_dict(data), analyze(root), root)
    calls = {c.callee.split(":")[1]: c for c in ex.calls if c.file == "tinydj/orders/labels.py"}
    assert {f: calls[f].converted for f in FUNCS} == {
        "label_of": True,
        "key_of": True,
        "kept_of": True,
        "colour_of": False,  # not a column: the copy does not answer it as the row did
        "same_of": False,  # the row itself handed back
        "falsy_of": False,  # its model can be false, a copy cannot
    }, {f: calls[f].reason for f in FUNCS}
    assert "reads .colour" in calls["colour_of"].reason


MAKER = """

class Maker(models.Model):
    name = models.CharField(max_length=40)

"""

MADE_BY = """

def made_by(request, sku):
    product = Product.objects.get(sku=sku)
    return JsonResponse({"maker": product.maker.name if product.maker_id else None})
"""


def test_a_copy_reads_the_row_its_foreign_key_names_from_the_owner(tmp_path: Path) -> None:
    """``product.maker.name`` of another service's row: the copy reads the ``Maker`` row by
    ``maker_id`` from its owner (a Django ``ForeignKey`` is a relationship of the copy)."""
    from migrator.analysis import analyze
    from migrator.extraction import extract

    from .test_django_reads import _app, _plan, serving
    from .test_frameworks import _get

    root = _app(tmp_path)
    models = root / "tinydj" / "catalog" / "models.py"
    models.write_text(
        models.read_text()
        .replace("\n\nclass ProductQuerySet", MAKER + "\nclass ProductQuerySet", 1)
        .replace(
            "    sku = models.CharField",
            '    maker = models.ForeignKey("catalog.Maker", null=True, on_delete=models.SET_NULL)\n'
            "    sku = models.CharField",
            1,
        )
    )
    report = root / "tinydj" / "orders" / "report.py"
    report.write_text(report.read_text() + MADE_BY)
    urls = root / "tinydj" / "orders" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            "urlpatterns = [", 'urlpatterns = [path("made/<str:sku>", report.made_by), ', 1
        )
    )
    line = report.read_text().splitlines().index("    product = Product.objects.get(sku=sku)")
    ex = build_extraction(_plan(), analyze(root), root)
    uses = {c.line: c.converted for c in ex.couplings if c.file == "tinydj/orders/report.py"}
    assert uses[line + 1] is True, uses

    out = tmp_path / "out"
    extract(_plan(), None, root, out)
    with serving(out, tmp_path, [("tea", 300)]) as base:
        import sqlite3

        with sqlite3.connect(tmp_path / "catalog.sqlite3") as db:
            db.execute("INSERT INTO catalog_maker (id, name) VALUES (7, 'Acme')")
            db.execute("UPDATE catalog_product SET maker_id = 7 WHERE sku = 'tea'")
        assert _get(base["orders"] + "/api/orders/made/tea") == {"maker": "Acme"}


def test_a_function_with_kwargs_is_called_when_nothing_goes_through_them(tmp_path: Path) -> None:
    """``get_shop(request, **kwargs)``: a call that passes nothing through ``**kwargs`` is
    converted (the generated client refuses values there, as it would not send them); a call
    that does pass one keeps the function listed for its service."""
    from migrator.analysis import analyze
    from migrator.extraction import extract

    def build(call: str) -> tuple[dict, Path]:
        root = tmp_path / call.count(",").__str__() / "app"
        shutil.copytree(FIXTURES / "tinydj_app", root)
        services = root / "tinydj" / "catalog" / "services.py"
        services.write_text(
            services.read_text() + "\n\ndef tagged(sku, *more, **extra):\n    return sku.upper()\n"
        )
        view = "from tinydj.catalog import services\n\n\ndef tag(request):\n"
        (root / "tinydj" / "orders" / "tags.py").write_text(f"{view}    return {call}\n")
        data = DJANGO_PLAN.to_dict()
        data["services"]["orders"]["modules"].append("tinydj.orders.tags")
        data["services"]["catalog"]["interface"].append("tinydj.catalog.services:tagged")
        plan = plan_from_dict(data)
        ex = build_extraction(plan, analyze(root), root)
        calls = {c.callee: c for c in ex.calls if c.file == "tinydj/orders/tags.py"}
        out = root.parent / "out"
        extract(plan, None, root, out)
        return calls, out

    calls, out = build('services.tagged("tea")')
    assert calls["tinydj.catalog.services:tagged"].converted
    client = next((out / "services" / "orders" / "src").rglob("*catalog*services*.py")).read_text()
    assert "if more or extra:" in client and "are not sent" in client
    calls, _ = build('services.tagged("tea", colour="red")')
    left = calls["tinydj.catalog.services:tagged"]
    assert not left.converted and "through *args/**kwargs" in left.reason
