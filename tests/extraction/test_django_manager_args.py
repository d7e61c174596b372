"""Arguments of another service's manager method that the owner runs for a read model.

The request's user handed to another service's manager method
(``Shop.objects.get_for_user(request.user)``, whose method reads ``user.is_superuser``): the
read model sends the user as its key (``runtime.USER``) and the owner runs the method with its
own user of that key, as it does for a request it rebuilds, so the read counts as converted.
Any other row read so by the method still does not cross (it would arrive as a bare key),
but for ``p.pk if isinstance(p, Model) else p``, which gives its key alike.

Steps: copy ``fixtures/tinydj_app``, give catalog's Product a queryset method that reads its
``user`` parameter, and orders a view calling it with ``request.user`` and with another row;
build the extraction with the two-service plan of test_frameworks. The runtime half runs in a
subprocess with Django's auth app on an in-memory SQLite database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from migrator.extraction import build_extraction

from .test_django_reads import _app, _plan

QUERYSET = """    def for_user(self, user, limit=None):
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(price__lt=user.id * 100)

    def in_range(self, low=None):
        key = low.pk if isinstance(low, Product) else low
        return self.filter(id__gte=key) if low else self.all()

    def named(self, like=None):
        key = like.pk if isinstance(like, Product) else like.sku
        return self.filter(id__gte=key)

    def priced(self"""

VIEWS = """

def mine(request):
    return list(Product.objects.for_user(request.user).values_list("sku", flat=True))


class Mine(View):
    def get(self, request):
        return list(Product.objects.for_user(user=self.request.user).values_list("id", flat=True))


def theirs(request, other):
    return list(Product.objects.for_user(other).values_list("sku", flat=True))
"""


def test_a_manager_method_reading_the_request_user_is_run_by_the_owner(tmp_path: Path) -> None:
    from migrator.analysis import analyze

    root = _app(tmp_path)
    models = root / "tinydj" / "catalog" / "models.py"
    models.write_text(models.read_text().replace("    def priced(self", QUERYSET, 1))
    report = root / "tinydj" / "orders" / "report.py"
    text = report.read_text() + VIEWS
    report.write_text(text)
    lines = text.splitlines()
    at = {
        name: next(i + 1 for i, line in enumerate(lines) if f"for_user({name}" in line)
        for name in ("request.user", "user=self.request.user", "other")
    }
    ex = build_extraction(_plan(), analyze(root), root)
    uses = {c.line: c.converted for c in ex.couplings if c.file == "tinydj/orders/report.py"}
    assert uses[at["request.user"]] is True
    assert uses[at["user=self.request.user"]] is True
    assert uses[at["other"]] is False  # a row other than the user arrives as its key


def test_the_key_of_a_row_or_of_a_key_is_read_by_value(tmp_path: Path) -> None:
    from migrator.extraction.convert import Classifier
    from migrator.extraction.djangoreads import custom_read
    from migrator.extraction.source import SourceTree

    root = _app(tmp_path)
    models = root / "tinydj" / "catalog" / "models.py"
    models.write_text(models.read_text().replace("    def priced(self", QUERYSET, 1))
    classifier = Classifier(SourceTree(root, ["tinydj"]))
    product = "tinydj.catalog.models:Product"
    assert custom_read(classifier, product, "in_range") == ""
    assert custom_read(classifier, product, "named") == "named reads attributes of like"
    assert custom_read(classifier, product, "for_user") == "for_user reads attributes of user"


DRIVE = """
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.management import call_command

from migrator.extraction import runtime

call_command("migrate", run_syncdb=True, verbosity=0)
boss = User.objects.create(username="boss", is_superuser=True)
clerk = User.objects.create(username="clerk")
sent = runtime._user_or_key(boss)
assert sent == {runtime.USER: boss.pk}, sent
back = runtime._user_of(sent)
assert back == boss and back.is_superuser, back
assert runtime._user_of(runtime._user_or_key(AnonymousUser())).is_anonymous
assert runtime._user_of({runtime.USER: 999}).is_anonymous  # no such user here
group = Group.objects.create(name="staff")
assert runtime._user_or_key(group) == group.pk  # any other row: its key, as before
query = runtime.ReadModel("shops", "Shop").objects.get_for_user(clerk, who=boss)
step = query.steps[-1]
assert step == ["call", ["get_for_user", {runtime.USER: clerk.pk}], {"who": {runtime.USER: boss.pk}}], step
# a read model handed to the caller's own query is a list of values there, not an expression
assert not hasattr(query, "resolve_expression") and not hasattr(query, "as_sql")
print("ok")
"""


def test_the_request_user_crosses_as_the_owners_user_of_that_key() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DRIVE)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


SHELF = """

def shelf(request):
    cheap = Product.objects.filter(price__lt=500)
    if request.GET.get("below"):
        cheap = cheap.filter(price__lt=int(request.GET["below"]))
    first = cheap.order_by("price").first()
    skus = [p.sku for p in cheap.order_by("sku")]
    top = cheap.order_by("-price").first().sku
    return JsonResponse({"first": first.sku, "skus": skus, "top": top, "n": cheap.count(),
                         "ids": sorted(cheap.values_list("id", flat=True))})


def sliced(request):
    cheap = Product.objects.filter(price__lt=500)
    return JsonResponse({"skus": [p.sku for p in cheap[:2]]})


def changed(request):
    cheap = Product.objects.filter(price__lt=500)
    for p in cheap:
        p.stock = 0
    return JsonResponse({})
"""


def _shelf_app(tmp_path: Path) -> tuple[Path, list[str]]:
    root = _app(tmp_path)
    report = root / "tinydj" / "orders" / "report.py"
    text = report.read_text() + SHELF
    report.write_text(text)
    urls = root / "tinydj" / "orders" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            "urlpatterns = [", 'urlpatterns = [path("shelf", report.shelf), ', 1
        )
    )
    return root, text.splitlines()


def test_a_queryset_kept_in_a_variable_and_refined_is_read_through_the_read_model(
    tmp_path: Path,
) -> None:
    """``cheap = Product.objects.filter(...)``, refined (``cheap = cheap.filter(...)``) and
    read (``first()``, a loop, ``count()``, ``values_list``) counts; sliced, or its rows
    changed, it does not (a read model's queryset has no slices; its rows are copies)."""
    from migrator.analysis import analyze

    root, lines = _shelf_app(tmp_path)
    made = [i + 1 for i, line in enumerate(lines) if "cheap = Product.objects" in line]
    ex = build_extraction(_plan(), analyze(root), root)
    uses = {c.line: c.converted for c in ex.couplings if c.file == "tinydj/orders/report.py"}
    assert [uses[line] for line in made] == [True, False, False], uses


def test_a_refined_queryset_variable_answers_from_the_owner(tmp_path: Path) -> None:
    from .test_django_reads import serving
    from .test_frameworks import _get

    root, _ = _shelf_app(tmp_path)
    out = tmp_path / "out"
    from migrator.extraction import extract

    extract(_plan(), None, root, out)
    products = [("tea", 300), ("jam", 150), ("cake", 50), ("pie", 900)]
    with serving(out, tmp_path, products) as base:
        assert _get(base["orders"] + "/api/orders/shelf") == {
            "first": "cake",
            "skus": ["cake", "jam", "tea"],
            "top": "tea",
            "n": 3,
            "ids": [1, 2, 3],
        }
        assert _get(base["orders"] + "/api/orders/shelf?below=200")["skus"] == ["cake", "jam"]


SHELF_MODELS = """
from django.db import models
from parler.models import TranslatableModel, TranslatedFields


class Shelf(TranslatableModel):
    code = models.CharField(max_length=10)
    translations = TranslatedFields(name=models.CharField(max_length=40))
"""

TRANSLATED = """
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "parler", "shelves"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    LANGUAGES=[("en", "English"), ("fi", "Finnish")],
    LANGUAGE_CODE="en",
    PARLER_LANGUAGES={None: ({"code": "en"}, {"code": "fi"})},
)
django.setup()
from django.core.management import call_command
from django.utils import translation
from shelves.models import Shelf

from migrator.extraction import runtime

call_command("migrate", run_syncdb=True, verbosity=0)
shelf = Shelf(code="a1")
shelf.set_current_language("en")
shelf.name = "Top shelf"
shelf.set_current_language("fi")
shelf.name = "Ylahylly"
shelf.save()
read = runtime.reader(Shelf)
assert read({"code": "a1"}, "first")[0]["name"] == "Top shelf"
assert read({"code": "a1"}, "first", language="fi")[0]["name"] == "Ylahylly"
assert translation.get_language() == "en"  # the owner's own language is left as it was
with translation.override("fi"):
    assert runtime._language() == "fi"  # what a caller's read model sends
    assert runtime._columns(Shelf.objects.get(code="a1"))["name"] == "Ylahylly"
print("ok")
"""


def test_translated_fields_are_read_like_columns_but_not_set(tmp_path: Path) -> None:
    """django-parler's ``TranslatedFields`` of another service's model: a copy reads them
    (the owner sends them in the caller's language), a copy that sets one stays listed."""
    from migrator.analysis import analyze

    root = _app(tmp_path)
    models = root / "tinydj" / "catalog" / "models.py"
    models.write_text(
        models.read_text().replace(
            "class Product(models.Model):\n",
            "class Product(models.Model):\n"
            "    translations = TranslatedFields(title=models.CharField(max_length=40))\n",
        )
    )
    report = root / "tinydj" / "orders" / "report.py"
    text = report.read_text() + (
        "\n\ndef titled(request):\n"
        '    row = Product.objects.get(sku="tea")\n'
        "    return row.title\n"
        "\n\ndef retitled(request):\n"
        '    row = Product.objects.get(sku="tea")\n'
        '    row.title = "Tea"\n'
    )
    report.write_text(text)
    lines = text.splitlines()
    reads = [i + 1 for i, line in enumerate(lines) if 'get(sku="tea")' in line]
    ex = build_extraction(_plan(), analyze(root), root)
    uses = {c.line: c.converted for c in ex.couplings if c.file == "tinydj/orders/report.py"}
    assert [uses[line] for line in reads] == [True, False], uses

    (tmp_path / "shelves").mkdir()
    (tmp_path / "shelves" / "__init__.py").write_text("")
    (tmp_path / "shelves" / "models.py").write_text(SHELF_MODELS)
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(TRANSLATED)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(tmp_path)])},
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
