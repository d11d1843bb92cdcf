import os

from django.test import TestCase, TransactionTestCase

from catalog.models import Category, Product
from orders.models import Order, OrderLine
from shop.testlog import log_test


class OrderTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        games = Category.objects.get(slug="games")
        cls.chess = Product.objects.create(category=games, sku="CHESS", name="Chess", price_cents=2500)

    def test_order_total(self):
        log_test(self.id())
        order = Order.objects.create(customer="ada")
        OrderLine.objects.create(order=order, product=self.chess, quantity=3)
        self.assertEqual(sum(line.total_cents for line in order.lines.all()), 7500)

    def test_protected_product(self):
        log_test(self.id())
        from django.db.models import ProtectedError
        order = Order.objects.create(customer="bob")
        OrderLine.objects.create(order=order, product=self.chess)
        with self.assertRaises(ProtectedError):
            self.chess.delete()


class CommittedOrderTests(TransactionTestCase):
    serialized_rollback = True
    def test_orders_of_this_process_only(self):
        db = log_test(self.id())
        me = "%s/%d" % (db, os.getpid())
        for i in range(3):
            Order.objects.create(customer="c%d" % i, worker=me)
        self.assertEqual(Order.objects.filter(worker=me).count(), 3)
        self.assertEqual(Order.objects.exclude(worker=me).count(), 0)

    def test_starts_empty(self):
        log_test(self.id())
        self.assertEqual(Order.objects.count(), 0)
