from blog.models import Post, Tag
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from shop.models import Order


class PostViewSet(viewsets.ModelViewSet):
    queryset = Post.objects.all()

    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        post = self.get_object()
        post.tags.add(*Tag.objects.filter(name="published"))
        return post

    @action(detail=False, url_path="recent-posts")
    def recent(self, request):
        return None


class TagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tag.objects.all()
    lookup_field = "name"


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Order.objects.all()

    def destroy(self, request, pk=None):
        return None

    @action(detail=True, methods=["get", "put"], url_path="items")
    def line_items(self, request, pk=None):
        return None


class ApiBase(viewsets.GenericViewSet):
    lookup_url_kwarg = "tag_id"

    @action(detail=True)
    def history(self, request, tag_id=None):
        return None


class TagAdmin(ApiBase):
    def create(self, request):
        return None

    def partial_update(self, request, tag_id=None):
        return None
