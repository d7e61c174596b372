from blog import views as blog_views
from django.urls import include, path, re_path
from shop import urls as shop_urls

urlpatterns = [
    path("blog/", include("blog.urls")),
    path("shop/", include(shop_urls)),
    path("v2/", include("api.urls")),
    re_path(r"^legacy/(?P<slug>[-\w]+)/$", blog_views.legacy),
    path("api/", include([
        path("posts/", blog_views.post_list_api),
    ])),
]
