"""Django plug-in: apps and labels, URL confs with includes, models and relations (class refs,
"app.Model", "Model", "self", AUTH_USER_MODEL), get_model, signals, ORM reads and writes."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, parse, routes

from migrator.analysis.frameworks.django import DjangoPlugin

PLUGIN = DjangoPlugin()

EXPECTED_ROUTES = {
    ("GET", "/blog/", "blog.views:post_list"),  # @require_GET
    ("ANY", "/blog/new/", "blog.views:post_create"),
    ("GET", "/blog/<int:pk>/", "blog.views:PostDetail"),  # DetailView
    ("GET", "/blog/<int:pk>/edit/", "blog.views:PostEdit"),  # View with get/post
    ("POST", "/blog/<int:pk>/edit/", "blog.views:PostEdit"),
    ("ANY", "/blog/tags/<int:pk>/delete/", "blog.views:tag_delete"),
    ("ANY", "/shop/checkout/", "shop.views:checkout"),  # include(module object)
    ("ANY", r"/legacy/(?P<slug>[-\w]+)/", "blog.views:legacy"),  # re_path, anchors dropped
    ("ANY", "/api/posts/", "blog.views:post_list_api"),  # inline include([...])
}


def test_collect_settings_urls_and_models() -> None:
    data = PLUGIN.collect(parse('''
        INSTALLED_APPS = ("a", "b.apps.BConfig")
        INSTALLED_APPS += ["c"]
        AUTH_USER_MODEL = "users.Member"

        urlpatterns = [
            path("x/", include(("x.urls", "x"), namespace="x")),
            re_path(r"^y/$", csrf_exempt(views.y)),
        ]
        urlpatterns += [path("z/", views.Z.as_view(), name="z")]


        class Thing(models.Model):
            owner = models.ForeignKey("users.Member", on_delete=models.CASCADE)
            tags = models.ManyToManyField(Tag, through="Tagging")

            class Meta:
                db_table = "things"
                app_label = "stuff"
    '''), "m", "m.py")
    assert data["installed_apps"] == ["a", "b.apps.BConfig", "c"]
    assert data["settings"] == {"AUTH_USER_MODEL": "users.Member"}
    assert [(e["route"], e.get("include"), e.get("view"), e["line"])
            for e in data["urls"]["urlpatterns"]] == [
        ("x/", {"module": "x.urls"}, None, 6), ("^y/$", None, "views.y", 7),
        ("z/", None, "views.Z", 9)]
    [model] = data["models"]
    assert (model["name"], model["line"], model["meta"]) == (
        "Thing", 12, {"db_table": "things", "app_label": "stuff"})
    assert [(f["field"], f["target"], f["string"], f["through"], f["line"])
            for f in model["fields"]] == [("owner", "users.Member", True, None, 13),
                                          ("tags", "Tag", False, "Tagging", 14)]


def test_collect_access_get_model_and_signals() -> None:
    data = PLUGIN.collect(parse('''
        def f():
            Book.objects.filter(x=1).update(y=2)
            list(Book.objects.all())
            b = Book(title="t")
            b.save()
            apps.get_model("lib", "Book")
            get_model("lib.Author")

        @receiver([post_save, post_delete], sender="lib.Book")
        def on_book(sender, **kw): ...

        book_saved.connect(on_book, sender=Book)
    '''), "m", "m.py")
    assert [(a["target"], a["op"], a["line"]) for a in data["access"]] == [
        ("Book", "write", 2), ("Book", "read", 3), ("Book", "write", 5)]
    assert [(g["app"], g["model"], g["line"]) for g in data["get_model"]] == [
        ("lib", "Book", 6), ("lib", "Author", 7)]
    assert [(s["signal"], s["handler"], s["sender"], s["sender_str"], s["line"])
            for s in data["signals"]] == [
        ("post_delete", "on_book", None, "lib.Book", 9),
        ("post_save", "on_book", None, "lib.Book", 9),
        ("book_saved", "on_book", "Book", None, 12)]


@pytest.fixture(params=["fake-resolver", "analyze"])
def graph(request):
    return app_graph(request, "django")


def test_routes_through_includes(graph) -> None:
    assert routes(graph) == EXPECTED_ROUTES
    assert {r.framework for r in graph.routes} == {"django"}


def test_route_edges_from_urlconf_to_view(graph) -> None:
    assert edges(graph, "route") == {
        ("blog.urls:urlpatterns", f"blog.views:{v}")
        for v in ("post_list", "post_create", "PostDetail", "PostEdit", "tag_delete")
    } | {("shop.urls:urlpatterns", "shop.views:checkout"),
         ("mysite.urls:urlpatterns", "blog.views:legacy"),
         ("mysite.urls:urlpatterns", "blog.views:post_list_api")}


def test_tables_names_labels_and_foreign_keys(graph) -> None:
    tables = {t.name: (t.model, t.foreign_keys) for t in graph.tables.values()}
    assert tables == {
        # Meta.db_table; AUTH_USER_MODEL and a same-app "Tag" string (many-to-many)
        "blog_posts": ("blog.models:Post", ["accounts_user", "blog_tag"]),
        "blog_tag": ("blog.models:Tag", ["blog_tag"]),  # "self"
        # AppConfig label "store" names the tables of app "shop"
        "store_product": ("shop.models:Product", []),
        "store_order": ("shop.models:Order", ["accounts_user", "store_product"]),
        "accounts_user": ("accounts.models:User", []),  # AbstractUser subclass
    }  # abstract Timestamped and proxy FeaturedPost have no table of their own


def test_orm_edges_for_class_and_string_relations(graph) -> None:
    assert edges(graph, "orm") == {
        ("blog.models:Post", "accounts.models:User"),
        ("blog.models:Post", "blog.models:Tag"),
        ("shop.models:Order", "shop.models:Product"),
        ("shop.models:Order", "accounts.models:User"),
    }


def test_reads_and_writes(graph) -> None:
    t = graph.tables
    # Post(...) then .save(); get_object_or_404(Post, ...) then .save(); DetailView model=Post
    assert (t["blog_posts"].readers, t["blog_posts"].writers) == (
        ["blog.views:PostDetail", "blog.views:post_list", "blog.views:post_publish"],
        ["blog.views:post_create", "blog.views:post_publish"])
    assert t["blog_tag"].writers == ["blog.views:tag_delete"]  # .filter().delete()
    assert t["store_order"].writers == ["shop.views:checkout"]  # .objects.create()
    assert {("blog.views:post_list", "blog.models:Post"),
            ("blog.views:post_create", "blog.models:Post"),
            ("shop.views:checkout", "shop.models:Order")} <= edges(graph, "table")


def test_get_model_and_signal_dynamic_edges(graph) -> None:
    assert {
        ("shop.views:checkout", "blog.models:Post"),  # apps.get_model("blog", "Post")
        ("shop.views:checkout", "accounts.models:User"),  # get_model("accounts.user"): any case
        ("blog.models:Post", "blog.signals:notify"),  # @receiver(post_save, sender=Post)
        ("shop.models:Product", "shop.signals:cleanup"),  # connect(sender="store.Product")
        ("shop.views:checkout", "shop.signals:on_order"),  # custom signal .send()
    } <= edges(graph, "dynamic")


def test_signal_entry_points(graph) -> None:
    assert {(e.name, e.handler) for e in graph.entry_points if e.kind == "signal"} == {
        ("post_save:Post", "blog.signals:notify"),
        ("order_placed:*", "shop.signals:on_order"),
        ("post_delete:Product", "shop.signals:cleanup"),
    }


def test_collect_generic_views_viewsets_and_model_forms() -> None:
    data = PLUGIN.collect(parse('''
        class Make(CreateView):
            model = Lead

        class Show(generic.DetailView):
            model = Lead

        class Api(viewsets.ModelViewSet):
            queryset = Agent.objects.filter(active=True)

        class LeadForm(forms.ModelForm):
            class Meta:
                model = Lead
                fields = "__all__"
    '''), "m", "m.py")
    assert [(a["target"], a["op"], a["line"]) for a in data["access"]] == [
        ("Lead", "read", 1), ("Lead", "write", 1), ("Lead", "read", 4), ("Agent", "read", 7),
        ("Agent", "write", 7), ("Agent", "read", 8),  # the class, then its .objects chain
        ("Lead", "read", 10), ("Lead", "write", 10)]
    assert data["views"] == {"Make": ["GET", "POST"], "Show": ["GET"], "Api": None}
