"""shuup (Python 3.8, Django 2.2): PYTHONPATH=CORPUS/shuup:WORKBENCH python inventory_shuup.py OUT

WORKBENCH holds shuup_workbench/ of the same commit (the repository's development project)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuup_workbench.settings")
import django  # noqa: E402

django.setup()
from common import dump  # noqa: E402
from django.apps import apps  # noqa: E402
from django.urls import URLPattern, URLResolver, get_resolver  # noqa: E402


def clean(pattern) -> str:
    return str(pattern).replace("^", "").replace("$", "").replace("\\Z", "")


def walk(patterns, prefix: str, out: set) -> None:
    for p in patterns:
        if isinstance(p, URLResolver):
            walk(p.url_patterns, prefix + clean(p.pattern), out)
        elif isinstance(p, URLPattern):
            view = getattr(p.callback, "view_class", None) or p.callback
            if (getattr(view, "__module__", "") or "").startswith("shuup"):
                out.add(("ANY", "/" + (prefix + clean(p.pattern)).lstrip("/")))


routes: set = set()
for conf in ("shuup.admin.urls", "shuup.front.urls"):
    walk(get_resolver(conf).url_patterns, "", routes)
tables = {
    m._meta.db_table
    for m in apps.get_models(include_auto_created=True)
    if m.__module__.startswith("shuup") and not m._meta.proxy and m._meta.managed
}
dump(sys.argv[1], routes, tables)
