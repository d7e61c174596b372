from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    buyer = models.OneToOneField("accounts.User", on_delete=models.CASCADE)
    items = models.ManyToManyField(Product, through="OrderItem")


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE)
    product = models.ForeignKey("store.Product", on_delete=models.CASCADE)
