from django.db import models

from catalog.models import Product


class Order(models.Model):
    customer = models.CharField(max_length=100)
    worker = models.CharField(max_length=40, default="")  # which test process wrote it
    created = models.DateTimeField(auto_now_add=True)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(default=1)

    @property
    def total_cents(self):
        return self.quantity * self.product.price_cents
