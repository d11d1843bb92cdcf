from django.test import TestCase, TransactionTestCase

from catalog.models import Category, Product
from shop.testlog import log_test


class SeedDataTests(TestCase):
    def test_data_migration_seeded_categories(self):
        log_test(self.id())
        self.assertEqual(sorted(Category.objects.values_list("slug", flat=True)), ["books", "games", "tools"])

    def test_no_products_yet(self):
        log_test(self.id())
        self.assertEqual(Product.objects.count(), 0)


class ProductTests(TransactionTestCase):
    """Commits (no transaction rollback): rows from another process sharing
    this database would be visible here."""
    serialized_rollback = True  # keep the data migration's rows across flushes

    def test_create_products(self):
        db = log_test(self.id())
        books = Category.objects.get(slug="books")
        for i in range(5):
            Product.objects.create(category=books, sku="%s-%d" % (db, i), name="Book %d" % i, price_cents=100 * i)
        self.assertEqual(Product.objects.count(), 5)
        self.assertEqual(Product.objects.exclude(sku__startswith=db + "-").count(), 0)

    def test_sku_unique(self):
        log_test(self.id())
        from django.db import IntegrityError
        tools = Category.objects.get(slug="tools")
        Product.objects.create(category=tools, sku="HAMMER", name="Hammer", price_cents=999)
        with self.assertRaises(IntegrityError):
            Product.objects.create(category=tools, sku="HAMMER", name="Hammer 2", price_cents=1)
