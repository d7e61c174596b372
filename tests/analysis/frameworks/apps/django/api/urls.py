from django.urls import include, path
from rest_framework import routers
from rest_framework.routers import SimpleRouter
from rest_framework_nested.routers import NestedSimpleRouter

from . import views

router = routers.DefaultRouter()
router.register(r"posts", views.PostViewSet)
router.register("tags", views.TagViewSet, basename="tag")
router.register("orders", views.OrderViewSet)

admin_router = SimpleRouter(trailing_slash=False)
admin_router.register("admin/tags", views.TagAdmin, basename="tag-admin")

urlpatterns = [
    path("", include(router.urls)),
]
urlpatterns += admin_router.urls

post_tags = NestedSimpleRouter(router, r"posts", lookup="post")
post_tags.register(r"tags", views.TagViewSet, basename="post-tags")
urlpatterns += [path("", include(post_tags.urls))]
