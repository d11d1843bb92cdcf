"""Small helpers that create valid rows through the ORM."""
import datetime as dt
from decimal import Decimal

from app.models import (Address, Brand, Category, Organization, Product, ProductVariant, User,
                        Warehouse)


def org(s, u, plan="free"):
    o = Organization(name="org-" + u, plan=plan, seats=3)
    s.add(o)
    s.flush()
    return o


def user(s, u, organization=None, n=0):
    organization = organization or org(s, u + "-%d" % n)
    x = User(organization=organization, email="%s-%d@example.com" % (u, n), display_name="User " + u)
    s.add(x)
    s.flush()
    return x


def category(s, u, parent=None):
    c = Category(slug="cat-" + u.lower(), name="Category " + u, parent=parent)
    s.add(c)
    s.flush()
    return c


def product(s, u, price="19.90", variants=1):
    b = Brand(name="brand-" + u)
    s.add(b)
    s.flush()
    p = Product(category=category(s, u), brand_id=b.id, sku="SKU-" + u, name="Product " + u,
                price=Decimal(price))
    for i in range(variants):
        p.variants.append(ProductVariant(sku="SKU-%s-%d" % (u, i), size="M", weight_grams=100 + i))
    s.add(p)
    s.flush()
    return p


def warehouse(s, u, capacity=1000):
    w = Warehouse(code=u[-10:], city="Lyon", capacity=capacity)
    s.add(w)
    s.flush()
    return w


def address(s, usr, country="FR"):
    a = Address(user=usr, line1="1 rue de la Paix", city="Paris", country=country)
    s.add(a)
    s.flush()
    return a


def days(n):
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=n)
