"""Django plug-in: apps and labels, URL confs with includes, models and relations (class refs,
"app.Model", "Model", "self", AUTH_USER_MODEL), get_model, signals, ORM reads and writes."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, mini_graph, parse, routes

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
} | {
    (method, f"/v2/{path}", f"api.views:{view}")
    for method, path, view in (
        # DRF DefaultRouter included under v2/: ModelViewSet, list and detail routes
        ("GET", "posts/", "PostViewSet"),
        ("POST", "posts/", "PostViewSet"),
        ("GET", "posts/<pk>/", "PostViewSet"),
        ("PUT", "posts/<pk>/", "PostViewSet"),
        ("PATCH", "posts/<pk>/", "PostViewSet"),
        ("DELETE", "posts/<pk>/", "PostViewSet"),
        ("POST", "posts/<pk>/publish/", "PostViewSet"),  # @action(detail=True, methods=["post"])
        ("GET", "posts/recent-posts/", "PostViewSet"),  # @action(detail=False, url_path=...)
        # ReadOnlyModelViewSet with lookup_field = "name"
        ("GET", "tags/", "TagViewSet"),
        ("GET", "tags/<name>/", "TagViewSet"),
        # GenericViewSet + List/Retrieve mixins + own destroy + a two-method @action
        ("GET", "orders/", "OrderViewSet"),
        ("GET", "orders/<pk>/", "OrderViewSet"),
        ("DELETE", "orders/<pk>/", "OrderViewSet"),
        ("GET", "orders/<pk>/items/", "OrderViewSet"),
        ("PUT", "orders/<pk>/items/", "OrderViewSet"),
        # SimpleRouter(trailing_slash=False) added with ``urlpatterns += router.urls``; the viewset
        # inherits lookup_url_kwarg and an @action from a project base class
        ("POST", "admin/tags", "TagAdmin"),
        ("PATCH", "admin/tags/<tag_id>", "TagAdmin"),
        ("GET", "admin/tags/<tag_id>/history", "TagAdmin"),
        # drf-nested-routers: NestedSimpleRouter(router, r"posts", lookup="post")
        ("GET", "posts/<post_pk>/tags/", "TagViewSet"),
        ("GET", "posts/<post_pk>/tags/<name>/", "TagViewSet"),
    )
}


def test_collect_settings_urls_and_models() -> None:
    data = PLUGIN.collect(
        parse("""
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
    """),
        "m",
        "m.py",
    )
    assert data["installed_apps"] == ["a", "b.apps.BConfig", "c"]
    assert data["settings"] == {"AUTH_USER_MODEL": "users.Member"}
    assert [
        (e["route"], e.get("include"), e.get("view"), e["line"])
        for e in data["urls"]["urlpatterns"]
    ] == [
        ("x/", {"module": "x.urls"}, None, 6),
        ("^y/$", None, "views.y", 7),
        ("z/", None, "views.Z", 9),
    ]
    [model] = data["models"]
    assert (model["name"], model["line"], model["meta"]) == (
        "Thing",
        12,
        {"db_table": "things", "app_label": "stuff"},
    )
    assert [
        (f["field"], f["target"], f["string"], f["through"], f["line"]) for f in model["fields"]
    ] == [("owner", "users.Member", True, None, 13), ("tags", "Tag", False, "Tagging", 14)]


def test_collect_access_get_model_and_signals() -> None:
    data = PLUGIN.collect(
        parse("""
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
    """),
        "m",
        "m.py",
    )
    assert [(a["target"], a["op"], a["line"]) for a in data["access"]] == [
        ("Book", "write", 2),
        ("Book", "read", 3),
        ("Book", "write", 5),
    ]
    assert [(g["app"], g["model"], g["line"]) for g in data["get_model"]] == [
        ("lib", "Book", 6),
        ("lib", "Author", 7),
    ]
    assert [
        (s["signal"], s["handler"], s["sender"], s["sender_str"], s["line"])
        for s in data["signals"]
    ] == [
        ("post_delete", "on_book", None, "lib.Book", 9),
        ("post_save", "on_book", None, "lib.Book", 9),
        ("book_saved", "on_book", "Book", None, 12),
    ]


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
    } | {
        ("shop.urls:urlpatterns", "shop.views:checkout"),
        ("mysite.urls:urlpatterns", "blog.views:legacy"),
        ("mysite.urls:urlpatterns", "blog.views:post_list_api"),
    } | {
        ("api.urls:urlpatterns", f"api.views:{v}")
        for v in ("PostViewSet", "TagViewSet", "OrderViewSet", "TagAdmin")
    }


def test_drf_route_records_point_at_the_register_call(graph) -> None:
    lines = {(r.handler, r.file, r.line) for r in graph.routes if r.handler.startswith("api.")}
    assert lines == {
        ("api.views:PostViewSet", "api/urls.py", 9),
        ("api.views:TagViewSet", "api/urls.py", 10),
        ("api.views:OrderViewSet", "api/urls.py", 11),
        ("api.views:TagAdmin", "api/urls.py", 14),
        ("api.views:TagViewSet", "api/urls.py", 22),
    }


def test_tables_names_labels_and_foreign_keys(graph) -> None:
    tables = {t.name: (t.model, t.foreign_keys) for t in graph.tables.values()}
    assert tables == {
        # Meta.db_table; AUTH_USER_MODEL (the many-to-many "Tag" has a join table instead)
        "blog_posts": ("blog.models:Post", ["accounts_user"]),
        # implicit join tables: <owner's table>_<field>, foreign keys to both sides, no model
        "blog_posts_tags": (None, ["blog_posts", "blog_tag"]),
        "blog_posts_watchers": (None, ["accounts_user", "blog_posts"]),  # from abstract parent
        "blog_tag": ("blog.models:Tag", ["blog_tag"]),  # "self"
        "blog_tag_links": (None, ["blog_tag"]),  # db_table= on a "self" many-to-many
        # AppConfig label "store" names the tables of app "shop"
        "store_product": ("shop.models:Product", []),
        # items = ManyToManyField(Product, through="OrderItem"): no implicit table
        "store_order": ("shop.models:Order", ["accounts_user", "store_product"]),
        "store_orderitem": ("shop.models:OrderItem", ["store_order", "store_product"]),
        "accounts_user": ("accounts.models:User", []),  # AbstractUser subclass
    }  # abstract Timestamped and proxy FeaturedPost have no table of their own
    assert (graph.tables["blog_posts_tags"].file, graph.tables["blog_posts_tags"].line) == (
        "blog/models.py",
        16,
    )


def test_many_to_many_manager_calls_read_and_write_the_join_table(graph) -> None:
    t = graph.tables["blog_posts_tags"]
    # post.tags.add(...) in a viewset action; tag.post_set.all() (default reverse accessor)
    assert (t.readers, t.writers) == (["blog.views:tag_posts"], ["api.views:PostViewSet"])
    assert {
        ("api.views:PostViewSet", "blog.models:Post"),
        ("blog.views:tag_posts", "blog.models:Post"),
    } <= edges(graph, "table")
    # no call names "watchers", "watched_post" or "related": no access recorded
    for name in ("blog_posts_watchers", "blog_tag_links"):
        assert (graph.tables[name].readers, graph.tables[name].writers) == ([], [])


def test_orm_edges_for_class_and_string_relations(graph) -> None:
    assert edges(graph, "orm") == {
        ("blog.models:Post", "accounts.models:User"),
        ("blog.models:Post", "blog.models:Tag"),
        ("shop.models:Order", "shop.models:Product"),
        ("shop.models:Order", "accounts.models:User"),
        ("blog.models:Timestamped", "accounts.models:User"),  # the abstract class declares it
        ("shop.models:OrderItem", "shop.models:Order"),
        ("shop.models:OrderItem", "shop.models:Product"),
    }


def test_reads_and_writes(graph) -> None:
    t = graph.tables
    # Post(...) then .save(); get_object_or_404(Post, ...) then .save(); DetailView model=Post;
    # a ModelViewSet's queryset reads and writes
    assert (t["blog_posts"].readers, t["blog_posts"].writers) == (
        [
            "api.views:PostViewSet",
            "blog.views:PostDetail",
            "blog.views:post_list",
            "blog.views:post_publish",
        ],
        ["api.views:PostViewSet", "blog.views:post_create", "blog.views:post_publish"],
    )
    assert t["blog_tag"].writers == ["blog.views:tag_delete"]  # .filter().delete()
    assert t["store_order"].writers == ["shop.views:checkout"]  # .objects.create()
    assert {
        ("blog.views:post_list", "blog.models:Post"),
        ("blog.views:post_create", "blog.models:Post"),
        ("shop.views:checkout", "shop.models:Order"),
    } <= edges(graph, "table")


def test_get_model_dynamic_and_signal_edges(graph) -> None:
    assert {
        ("shop.views:checkout", "blog.models:Post"),  # apps.get_model("blog", "Post")
        ("shop.views:checkout", "accounts.models:User"),  # get_model("accounts.user"): any case
    } <= edges(graph, "dynamic")
    assert edges(graph, "signal") == {
        ("blog.models:Post", "blog.signals:notify"),  # @receiver(post_save, sender=Post)
        ("shop.models:Product", "shop.signals:cleanup"),  # connect(sender="store.Product")
        ("shop.models:Product", "shop.signals:on_tags"),  # imported and connected in ready()
        ("shop.views:checkout", "shop.signals:on_order"),  # custom signal .send()
    }


def test_signal_entry_points(graph) -> None:
    assert {(e.name, e.handler) for e in graph.entry_points if e.kind == "signal"} == {
        ("post_save:Post", "blog.signals:notify"),
        ("order_placed:*", "shop.signals:on_order"),
        ("user_activated:*", "shop.signals:on_order"),  # from a library's signals module
        ("post_delete:Product", "shop.signals:cleanup"),
        ("m2m_changed:Product", "shop.signals:on_tags"),  # the signal imported in ready()
    }


def test_collect_generic_views_viewsets_and_model_forms() -> None:
    data = PLUGIN.collect(
        parse("""
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
    """),
        "m",
        "m.py",
    )
    assert [(a["target"], a["op"], a["line"]) for a in data["access"]] == [
        ("Lead", "read", 1),
        ("Lead", "write", 1),
        ("Lead", "read", 4),
        ("Agent", "read", 7),
        ("Agent", "write", 7),
        ("Agent", "read", 8),  # the class, then its .objects chain
        ("Lead", "read", 10),
        ("Lead", "write", 10),
    ]
    assert data["views"] == {"Make": ["GET", "POST"], "Show": ["GET"], "Api": None}


def test_a_form_on_the_projects_own_model_form_base_writes_its_model() -> None:
    """``TranslatableModelForm``, a project's ``BaseDiscountModelForm``: a base named ``*ModelForm``
    is a model form too (its chain to Django's is often in a library or another module), so
    saving it writes its ``Meta.model``. A ``ModelFormMixin`` is not named so and adds
    nothing."""
    data = PLUGIN.collect(
        parse("""
        class RuleForm(BaseDiscountModelForm):
            class Meta:
                model = Rule

        class PageForm(TranslatableModelForm):
            class Meta:
                model = Page

        class Helper(ModelFormMixin):
            class Meta:
                model = Other
    """),
        "m",
        "m.py",
    )
    assert [(a["target"], a["op"]) for a in data["access"]] == [
        ("Rule", "read"),
        ("Rule", "write"),
        ("Page", "read"),
        ("Page", "write"),
    ]


def test_collect_drf_routers_registrations_viewsets_and_m2m_calls() -> None:
    data = PLUGIN.collect(
        parse("""
        from rest_framework.routers import DefaultRouter
        router = DefaultRouter()
        flat = routers.SimpleRouter(trailing_slash=False)
        router.register(r"users", views.UserViewSet, basename="user")
        admin.site.register(User, UserAdmin)
        urlpatterns = router.urls

        class UserViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
            lookup_field = "username"

            def destroy(self, request, pk=None): ...

            @action(detail=True, methods=["post", "delete"], url_path="set-password")
            def set_password(self, request, pk=None): ...

            @action(detail=flag)
            def unknown(self, request): ...

        class Article(models.Model):
            tags = models.ManyToManyField("Tag", db_table="art_tags", related_name="articles")

        def f(article, seen):
            article.tags.add(1)
            seen.add(2)
            list(article.tags.all())
            Article.objects.filter(x=1)
    """),
        "m",
        "m.py",
    )
    assert data["routers"] == {
        "router": {"trailing_slash": True},
        "flat": {"trailing_slash": False},
    }
    assert data["registers"] == [
        {"router": "router", "prefix": "users", "viewset": "views.UserViewSet", "line": 4}
    ]
    assert data["urls"]["urlpatterns"] == [
        {"kind": "path", "route": "", "include": {"name": "router.urls"}, "line": 6}
    ]
    assert data["viewsets"]["UserViewSet"] == {
        "bases": ["mixins.ListModelMixin", "viewsets.GenericViewSet"],
        "actions": ["destroy"],
        "extra": [
            {
                "name": "set_password",
                "detail": True,
                "methods": ["DELETE", "POST"],
                "url_path": "set-password",
            }
        ],
        "lookup": "username",
    }
    assert "Article" not in data["viewsets"]
    [field] = data["models"][-1]["fields"]
    assert (field["db_table"], field["related_name"]) == ("art_tags", "articles")
    assert [(o["attr"], o["op"], o["line"]) for o in data["m2m_ops"]] == [
        ("tags", "write", 23),
        ("tags", "read", 25),
    ]


def test_collect_models_defined_inside_if_blocks() -> None:
    """django-oscar style: ``if not is_model_registered(...): class Product(AbstractProduct)``
    (the file mentions no ``django`` at all)."""
    source = """
        from shop.abstract_models import *
        from shop.loading import is_model_registered

        if not is_model_registered("catalogue", "Product"):
            class Product(AbstractProduct):
                pass
        elif OTHER:
            pass
        else:
            class Other(AbstractOther):
                pass
    """
    assert any(marker in source for marker in PLUGIN.markers)
    data = PLUGIN.collect(parse(source), "m", "m.py")
    assert [(c["name"], c["bases"], c["line"]) for c in data["models"]] == [
        ("Product", ["AbstractProduct"], 5),
        ("Other", ["AbstractOther"], 10),
    ]


def test_tables_of_addon_bases_translations_factories_and_unlisted_app_configs() -> None:
    """Models through add-on bases (parler, polymorphic, ``six.with_metaclass``), parler's
    ``<table>_translation``, unmanaged models, join tables to the user model, models built
    by a ``type(...)`` factory, and app labels from AppConfigs no settings module lists."""
    g = mini_graph(
        {
            "shop/__init__.py": """
            from django.apps import AppConfig

            class ShopConfig(AppConfig):
                name = "shop.core"
                label = "shop"
        """,
            "shop/core/__init__.py": "",
            "shop/pricing/__init__.py": """
            from django.apps import AppConfig

            class PricingConfig(AppConfig):
                name = __name__
                label = "shop_pricing"
        """,
            "shop/utils.py": """
            from django.db import models

            class BaseLogEntry(models.Model):
                class Meta:
                    abstract = True

            def define_log_model(model_class):
                name = "%sLogEntry" % model_class.__name__
                return type(str(name), (BaseLogEntry,), {"__module__": model_class.__module__})

            def not_a_factory(x):
                return x
        """,
            "shop/core/models.py": """
            import six
            from django.conf import settings
            from django.db import models
            from parler.models import TranslatableModel, TranslatedFields
            from polymorphic.models import PolymorphicModel
            from shop.utils import define_log_model, not_a_factory

            class Product(TranslatableModel):
                translations = TranslatedFields(name=models.CharField(max_length=10))
                staff = models.ManyToManyField(settings.AUTH_USER_MODEL)

            class Provider(six.with_metaclass(models.base.ModelBase, PolymorphicModel)):
                pass

            class Anonymous(models.Model):
                class Meta:
                    managed = False

            class NotAModel(object):
                pass

            ProductLogEntry = define_log_model(Product)
            Other = not_a_factory(Product)
        """,
            "shop/pricing/models.py": """
            from django.db import models

            class Price(models.Model):
                pass
        """,
        }
    )
    assert set(g.tables) == {
        "shop_product",
        "shop_product_translation",
        "shop_product_staff",
        "shop_provider",
        "shop_productlogentry",
        "shop_pricing_price",
    }
    assert g.tables["shop_productlogentry"].model == "shop.core.models:ProductLogEntry"


def test_urls_from_get_urls_registries_and_url_factories() -> None:
    """``get_urls()`` methods of registered modules and a module-level ``get_urls()``, built
    with a ``url()`` wrapper and a helper formatting regexes and dotted view paths."""
    g = mini_graph(
        {
            "adm/__init__.py": "",
            "adm/utils.py": """
            from django.conf.urls import url
            from django.urls import URLPattern

            class AdminURLPattern(URLPattern):
                pass

            def admin_url(regex, view, name=None, prefix=""):
                if prefix:
                    view = prefix + "." + view
                return AdminURLPattern(regex, view, name=name)

            def edit_and_list_urls(url_prefix, view_template, name_template):
                return [
                    admin_url(r"%s/(?P<pk>\\d+)/$" % url_prefix, view_template % "Edit",
                              name=name_template % "edit"),
                    admin_url("%s/$" % url_prefix, view_template % "List",
                              name=name_template % "list"),
                ]
        """,
            "adm/views/__init__.py": "from adm.views.tax import TaxEditView, TaxListView\n",
            "adm/views/tax.py": """
            from django.views.generic import View

            class TaxEditView(View):
                def get(self, request, pk): ...
                def post(self, request, pk): ...

            class TaxListView(View):
                def get(self, request): ...

            class DashboardView(View):
                def get(self, request): ...
        """,
            "adm/modules.py": """
            from adm.utils import admin_url, edit_and_list_urls
            from adm.views.tax import DashboardView

            class TaxModule:
                def get_urls(self):
                    prefix = "^taxes"
                    return [
                        admin_url(r"^taxes/(?P<pk>\\d+)/delete/$", "adm.views.tax.TaxEditView"),
                    ] + edit_and_list_urls(url_prefix=prefix,
                                           view_template="adm.views.Tax%sView",
                                           name_template="tax.%s")

            class NotAModule:
                def urls(self):
                    return [admin_url(r"^nothing/$", DashboardView.as_view())]

            def get_urls():
                urls = []
                urls.extend([admin_url(r"^$", DashboardView.as_view(), name="dashboard")])
                return tuple(urls)
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/", "adm.views.tax:DashboardView"),
        *((m, r"/taxes/(?P<pk>\d+)/delete/", "adm.views.tax:TaxEditView") for m in ("GET", "POST")),
        *((m, r"/taxes/(?P<pk>\d+)/", "adm.views.tax:TaxEditView") for m in ("GET", "POST")),
        ("GET", "/taxes/", "adm.views.tax:TaxListView"),
    }
    assert ("adm.modules:TaxModule", "adm.views.tax:TaxListView") in edges(g, "route")


def test_reads_and_writes_through_custom_managers_typed_instances_and_the_user_model() -> None:
    """Managers other than ``objects`` (declared on the model or an abstract base), instances
    typed by a parameter annotation or a ``for`` over a queryset, and ``get_user_model()``."""
    g = mini_graph(
        {
            "site/settings.py": """
            INSTALLED_APPS = ["blog", "people"]
            AUTH_USER_MODEL = "people.Person"
        """,
            "people/__init__.py": "",
            "people/models.py": """
            from django.contrib.auth import get_user_model
            from django.db import models

            class Person(models.Model):
                pass

            User = get_user_model()
        """,
            "blog/__init__.py": "",
            "blog/models.py": """
            from django.db import models

            class PublishedManager(models.Manager):
                pass

            class Stamped(models.Model):
                recent = models.Manager.from_queryset(models.QuerySet)()

                class Meta:
                    abstract = True

            class Post(Stamped):
                objects = models.Manager()
                published = PublishedManager()
                drafts = models.QuerySet.as_manager()
                title = models.CharField(max_length=10)
        """,
            "blog/views.py": """
            from django.contrib.auth import get_user_model
            from people.models import User as Imported
            from blog.models import Post

            def front():
                return Post.published.filter(x=1).order_by("-id")

            def recent():
                return list(Post.recent.all())

            def archive(post: Post):
                post.save()

            def purge():
                Post.drafts.filter(old=True).delete()
                for post in Post.objects.all():
                    post.delete()

            def internals():
                return Post._default_manager.count()

            def not_a_manager():
                return Post.title.upper()

            def signup():
                get_user_model().objects.create(name="x")

            def members():
                User = get_user_model()
                return User.objects.all()

            def staff():
                return Imported.objects.filter(is_staff=True)
        """,
        }
    )
    post, person = g.tables["blog_post"], g.tables["people_person"]
    assert (post.readers, post.writers) == (
        ["blog.views:front", "blog.views:internals", "blog.views:purge", "blog.views:recent"],
        ["blog.views:archive", "blog.views:purge"],
    )
    assert (person.readers, person.writers) == (
        ["blog.views:members", "blog.views:staff"],
        ["blog.views:signup"],
    )
    assert ("blog.views:not_a_manager", "blog.models:Post") not in edges(g, "table")
    assert {
        ("blog.views:front", "blog.models:Post"),
        ("blog.views:signup", "people.models:Person"),
    } <= edges(g, "table")


def test_default_and_base_managers_are_managers_of_every_model() -> None:
    """Django gives every model ``_default_manager`` and ``_base_manager``: reads and writes
    through them count, without a declaration; another underscore name is no manager."""
    g = mini_graph(
        {
            "site/settings.py": 'INSTALLED_APPS = ["blog"]\n',
            "blog/__init__.py": "",
            "blog/models.py": """
            from django.db import models

            class Post(models.Model):
                pass

            class Tag(models.Model):
                pass
        """,
            "blog/views.py": """
            from blog.models import Post, Tag

            def count():
                return Post._default_manager.count()

            def hide():
                Post._base_manager.filter(old=True).update(hidden=True)

            def private():
                return Tag._private_manager.count()
        """,
        }
    )
    post, tag = g.tables["blog_post"], g.tables["blog_tag"]
    assert (post.readers, post.writers) == (["blog.views:count"], ["blog.views:hide"])
    assert (tag.readers, tag.writers) == ([], [])


def test_get_urls_reading_class_attributes_runs_for_each_subclass() -> None:
    """A base module's ``get_urls`` built from ``self.url_prefix``/``self.view_template``:
    each subclass (here or in another module, directly or through an intermediate class)
    gives its routes with its own attributes; the base, whose prefix is None, gives none."""
    g = mini_graph(
        {
            "adm/__init__.py": "",
            "adm/utils.py": """
            from django.urls import re_path

            def list_urls(url_prefix, view_template):
                return [re_path("%s/$" % url_prefix, view_template % "List")]
        """,
            "adm/views.py": """
            from django.views.generic import View

            class ShipListView(View):
                def get(self, request): ...

            class PayListView(View):
                def get(self, request): ...

            class PayDeleteView(View):
                def post(self, request, pk): ...

            class ShipDeleteView(View):
                def post(self, request, pk): ...
        """,
            "adm/base.py": """
            from adm.utils import list_urls
            from django.urls import re_path

            class ServiceModule:
                url_prefix = None
                view_template = None

                def get_urls(self):
                    return [
                        re_path(r"%s/(?P<pk>\\d+)/delete/$" % self.url_prefix,
                                self.view_template % "Delete"),
                    ] + list_urls(url_prefix=self.url_prefix, view_template=self.view_template)

            class ShipModule(ServiceModule):
                url_prefix = "^ship"
                view_template = "adm.views.Ship%sView"
        """,
            "adm/pay.py": """
            from adm.base import ServiceModule
            from django.utils.translation import gettext_lazy as _

            class Templated(ServiceModule):
                name = _("Payments")
                view_template = "adm.views.Pay%sView"

            class PayModule(Templated):
                url_prefix = "^pay"
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/ship/", "adm.views:ShipListView"),
        ("POST", r"/ship/(?P<pk>\d+)/delete/", "adm.views:ShipDeleteView"),
        ("GET", "/pay/", "adm.views:PayListView"),
        ("POST", r"/pay/(?P<pk>\d+)/delete/", "adm.views:PayDeleteView"),
    }
    assert ("adm.pay:PayModule", "adm.views:PayListView") in edges(g, "route")


def test_an_include_under_a_prefix_set_at_deploy_time() -> None:
    """``urlpatterns = [path(settings.BASE_PATH, include(_patterns))]`` (the prefix a
    setting): the routes below it are found, not lost with the whole URLconf."""
    g = mini_graph(
        {
            "proj/__init__.py": "",
            "proj/settings.py": """
            ROOT_URLCONF = "proj.urls"
            BASE_PATH = ""
        """,
            "proj/urls.py": """
            from django.conf import settings
            from django.urls import include, path
            from proj import views

            _patterns = [
                path("", views.home),
                path("dcim/", include("dcim.urls")),
            ]
            urlpatterns = [path(settings.BASE_PATH, include(_patterns))]
        """,
            "proj/views.py": "def home(request): ...\n",
            "dcim/__init__.py": "",
            "dcim/urls.py": """
            from django.urls import path
            from dcim import views

            urlpatterns = [path("sites/", views.site_list)]
        """,
            "dcim/views.py": "def site_list(request): ...\n",
        }
    )
    assert sorted((r.path, r.handler) for r in g.routes) == [
        ("/", "proj.views:home"),
        ("/dcim/sites/", "dcim.views:site_list"),
    ]
    assert not g.diagnostics
