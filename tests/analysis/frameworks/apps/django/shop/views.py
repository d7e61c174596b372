from django.apps import apps
from django.contrib.auth import get_user_model  # noqa: F401

from .models import Order
from .signals import order_placed


def checkout(request):
    order = Order.objects.create(product_id=1, buyer_id=1)
    post_model = apps.get_model("blog", "Post")
    user_model = apps.get_model("accounts.user")
    order_placed.send(sender=Order, order=order)
    return post_model, user_model
