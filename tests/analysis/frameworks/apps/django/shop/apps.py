from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    label = "store"

    def ready(self):
        from django.db.models.signals import m2m_changed

        from shop.models import Product
        from shop.signals import on_tags

        m2m_changed.connect(on_tags, sender=Product)  # a signal imported inside ready()
