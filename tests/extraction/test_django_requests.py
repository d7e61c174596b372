"""A Django ``request`` handed to another service's function crosses as what the callee reads
of it: the client sends its method, path, query and form values, cookies, headers, session
values and user key, and the owner rebuilds an ``HttpRequest`` from them
(``runtime.encode``/``decode``). migrator follows every use of the parameter, into the
functions and methods it is handed to, and converts the call only when the callee reads
nothing else and changes neither the request (but its own ``_cache`` attributes) nor the
session.

Steps (live test): copy ``fixtures/tinydj_app``, give catalog a request helper that picks a
shop through a provider object and orders a view calling it; extract with the two-service plan
of test_frameworks (the helpers in catalog's interface); start both services on 127.0.0.1 and
call orders' view with a query value and a header, whose answer catalog computed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from migrator.extraction import build_extraction, extract
from migrator.plan import plan_from_dict

from .conftest import FIXTURES
from .test_django_reads import serving
from .test_frameworks import DJANGO_PLAN, _get

#: catalog's request helpers: one that crosses (through a provider's method), three that do not
HELPERS = """

from tinydj import capfirst
from tinydj.plugins import plugin

KEY = "shop"


class Provider:
    def __init__(self, price=0):
        self.price = price

    def pick(self, request, default="main") -> str:
        cached = getattr(request, "_cached_pick", None)
        if cached:
            return cached
        name = request.GET.get(KEY) or request.session.get(KEY, default)
        request._cached_pick = f"{name}@{request.META.get('HTTP_X_TILL', '-')}/{request.method}"
        return request._cached_pick


def _provider():
    return Provider()


def shop_of(request):
    return _provider().pick(request)


def product_of(request):
    cached = getattr(request, "_cached_product", None)
    if cached:
        return cached
    product = Product.objects.filter(sku=request.GET.get("sku", "tea")).first()
    request._cached_product = product
    return request._cached_product


class Label:
    def __init__(self, text):
        self.text = capfirst(text.upper())


def label(text):
    return Label(text)


def plugin_label(name):
    return Label(plugin(name).__name__)


def priced_label(sku):
    return Label(f"{sku}:{price_of(sku)}")


def forget(request) -> int:
    request.session.pop(KEY, None)
    return price_of("tea")


def shop_attr(request) -> str:
    return f"{request.shop}{price_of('tea')}"


def handed_on(request) -> str:
    return str(request) + str(price_of("tea"))


def plain_forget(request):
    request.session.pop(KEY, None)
    return True
"""

VIEW = """from django.http import JsonResponse

from tinydj.catalog.services import forget, handed_on, label, priced_label, product_of
from tinydj.catalog.services import plain_forget, plugin_label, shop_attr, shop_of
from tinydj.orders.models import Shelf


def shop(request):
    request.session = {}
    return JsonResponse({"shop": shop_of(request)})


def product(request):
    row = product_of(request)
    return JsonResponse({"sku": row.sku, "price": row.price})


def shelf(request, name):
    return JsonResponse({"skus": sorted(p.sku for p in Shelf.objects.get(name=name).products.all())})


def labels(request):
    return JsonResponse({"label": label(request.GET["text"]).text})


def plugged(request):
    return JsonResponse({"label": plugin_label("json").text})


def priced(request):
    return JsonResponse({"label": priced_label("tea").text})


def others(request):
    return JsonResponse({"a": forget(request), "b": shop_attr(request), "c": handed_on(request),
                         "d": plain_forget(request)})
"""

#: orders' shelf of catalog's products: a many-to-many field to another service's model
SHELF = """

class Shelf(models.Model):
    name = models.CharField(max_length=40)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="shelves")
"""

FUNCS = [
    "shop_of",
    "product_of",
    "forget",
    "shop_attr",
    "handed_on",
    "label",
    "priced_label",
    "plain_forget",
    "plugin_label",
]


def _plan():  # noqa: ANN202 - the fixture's plan with the helpers in catalog's interface
    data = DJANGO_PLAN.to_dict()
    data["services"]["orders"]["modules"].append("tinydj.orders.shops")
    data["shared_kernel"]["modules"] += ["tinydj.plugins", "tinydj.loader"]
    data["services"]["catalog"]["interface"] += [f"tinydj.catalog.services:{f}" for f in FUNCS]
    return plan_from_dict(data)


def _app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "tinydj_app", root)
    services = root / "tinydj" / "catalog" / "services.py"
    services.write_text(services.read_text() + HELPERS)
    # a kernel helper that loads code by a name known at run time (through another module)
    (root / "tinydj" / "plugins.py").write_text(
        "from tinydj.loader import load\n\n\ndef plugin(name):\n    return load(name)\n"
    )
    (root / "tinydj" / "loader.py").write_text(
        "from importlib import import_module\n\n\ndef load(name):\n    return import_module(name)\n"
    )
    kernel = root / "tinydj" / "__init__.py"  # the kernel re-exports a third-party helper
    kernel.write_text(kernel.read_text() + "\nfrom django.utils.text import capfirst  # noqa\n")
    (root / "tinydj" / "orders" / "shops.py").write_text(VIEW)
    models = root / "tinydj" / "orders" / "models.py"
    models.write_text(models.read_text() + SHELF)
    urls = root / "tinydj" / "orders" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from tinydj.orders import views", "from tinydj.orders import shops, views")
        .replace(
            "urlpatterns = [",
            'urlpatterns = [path("shop", shops.shop), path("product", shops.product), '
            'path("shelf/<str:name>", shops.shelf), path("label", shops.labels), ',
        )
    )
    return root


def test_a_request_the_callee_only_reads_crosses_and_others_say_why(tmp_path: Path) -> None:
    from migrator.analysis import analyze

    root = _app(tmp_path)
    ex = build_extraction(_plan(), analyze(root), root)
    calls = {c.callee.split(":")[1]: c for c in ex.calls if c.file == "tinydj/orders/shops.py"}
    assert calls["shop_of"].converted, calls["shop_of"].reason
    # a row it keeps on the request (``request._cached_product``) comes back as the row read
    assert calls["product_of"].converted, calls["product_of"].reason
    assert not calls["forget"].converted
    assert "changes the caller's session" in calls["forget"].reason
    assert not calls["shop_attr"].converted
    assert "reads request.shop, which is not sent" in calls["shop_attr"].reason
    assert not calls["handed_on"].converted
    assert "handed to str()" in calls["handed_on"].reason
    # a helper that needs nothing of catalog runs in the caller, with the caller's request
    assert calls["plain_forget"].converted
    assert calls["plain_forget"].reason.startswith("copied")


def test_a_many_to_many_field_to_another_services_model_is_cut_to_keys(tmp_path: Path) -> None:
    from migrator.analysis import analyze

    root = _app(tmp_path)
    ex = build_extraction(_plan(), analyze(root), root)
    code = ex.files["services/orders/src/tinydj/orders/models.py"].decode()
    assert "products_ids = models.JSONField(default=list, blank=True)" in code
    assert "ManyToManyField" not in code
    assert ".objects.filter(pk__in=self.products_ids)" in code
    cut = [c for c in ex.couplings if c.uses == "Shelf.products -> Product"]
    assert len(cut) == 1 and cut[0].converted


def test_a_helper_whose_result_cannot_cross_is_copied_when_the_caller_has_its_code(
    tmp_path: Path,
) -> None:
    """``label`` returns an object that is not data: it runs in the caller as a copy, with the
    class it needs (which uses a third-party helper the kernel re-exports); ``priced_label`` also needs ``price_of``, which reads catalog's Product,
    so it stays listed and says so."""
    from migrator.analysis import analyze

    root = _app(tmp_path)
    ex = build_extraction(_plan(), analyze(root), root)
    calls = {c.callee.split(":")[1]: c for c in ex.calls if c.file == "tinydj/orders/shops.py"}
    assert calls["label"].converted and calls["label"].reason.startswith("copied")
    assert not calls["priced_label"].converted
    assert "its copy needs tinydj.catalog.models:Product" in calls["priced_label"].reason
    # the kernel's helper loads code by name (a setting could name catalog's): not copied
    assert not calls["plugin_label"].converted
    assert "tinydj.plugins:plugin, whose module loads code by name" in calls["plugin_label"].reason
    client = next(
        v.decode()
        for k, v in ex.files.items()
        if k.startswith("services/orders/src/interservice/catalog") and b"def label(" in v
    )
    assert "class Label:" in client and "def priced_label(" not in client


def test_a_model_form_of_another_services_model_says_what_to_change(tmp_path: Path) -> None:
    """``model = Product`` in a ModelForm's Meta: Django builds the form from the model, so a
    read model cannot stand in; the use is listed with that change, not the generic one."""
    from migrator.analysis import analyze

    root = _app(tmp_path)
    view = root / "tinydj" / "orders" / "shops.py"
    view.write_text(
        view.read_text()
        + "\n\nfrom django import forms\n\nfrom tinydj.catalog.models import Product\n\n\n"
        + "class ProductForm(forms.ModelForm):\n    class Meta:\n        model = Product\n"
        + '        fields = ["sku"]\n'
    )
    line = view.read_text().splitlines().index("        model = Product") + 1
    ex = build_extraction(_plan(), analyze(root), root)
    (use,) = [c for c in ex.couplings if c.file == "tinydj/orders/shops.py" and c.line == line]
    assert (use.kind, use.converted) == ("model-class", False)
    assert "Django builds this class from catalog's model itself" in ex.markdown()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("request.shop = 'x'", "sets request.shop"),
        ("request.user.first_name = 'x'", "changes request.user"),
        ("request.session['k'] = 1", "changes the caller's session"),
        ("request.user.save()", "changes request.user"),
    ],
)
def test_a_provider_method_that_changes_the_request_keeps_the_call_listed(
    tmp_path: Path, change: str, why: str
) -> None:
    """Every method of the name the request is handed to is followed: one that changes the
    request (but a private cache attribute), what hangs off it or the session makes the call
    stay listed (here the helper also needs catalog's Product, so it cannot run in the caller
    as a copy either)."""
    from migrator.analysis import analyze

    root = _app(tmp_path)
    services = root / "tinydj" / "catalog" / "services.py"
    services.write_text(
        services.read_text().replace("return Provider()", "return Provider(price_of('x'))")
        + "\n\nclass OtherProvider:\n    def pick(self, request) -> str:\n"
        + f"        {change}\n        return 'x'\n"
    )
    ex = build_extraction(_plan(), analyze(root), root)
    call = next(c for c in ex.calls if c.callee.endswith(":shop_of"))
    assert not call.converted
    assert why in call.reason
    assert "not copied either: its copy needs tinydj.catalog.models:Product" in call.reason


def test_the_owner_answers_from_the_request_the_caller_sent(tmp_path: Path) -> None:
    root = _app(tmp_path)
    out = tmp_path / "out"
    extract(_plan(), None, root, out)
    client = (out / "services" / "orders" / "src" / "interservice").glob("catalog*.py")
    assert any("def shop_of(" in p.read_text() for p in client)
    with serving(out, tmp_path, [("tea", 3), ("jam", 5)]) as base:
        product = base["orders"] + "/api/orders/product"
        assert _get(product + "?sku=jam") == {"sku": "jam", "price": 5}
        assert _get(product) == {"sku": "tea", "price": 3}
        # the many-to-many field is a key list in orders' database, read from catalog
        with sqlite3.connect(tmp_path / "orders.sqlite3") as db:
            db.execute("INSERT INTO orders_shelf (name, products_ids) VALUES ('top', '[2, 1]')")
        assert _get(base["orders"] + "/api/orders/shelf/top") == {"skus": ["jam", "tea"]}
        assert _get(base["orders"] + "/api/orders/label?text=tea") == {"label": "TEA"}
        url = base["orders"] + "/api/orders/shop"
        assert _get(url + "?shop=corner") == {"shop": "corner@-/GET"}
        assert _get(url) == {"shop": "main@-/GET"}
        with urllib.request.urlopen(
            urllib.request.Request(url + "?shop=kiosk", headers={"X-Till": "7"}), timeout=30
        ) as response:
            assert json.loads(response.read()) == {"shop": "kiosk@7/GET"}
