from decimal import Decimal

import datetime as dt
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.models import (Category, Price, PriceList, Product, ProductImage, ProductTag,
                        ProductVariant, Review, Tag)
from tests import factories as f


def test_product_with_variants(session, uniq):
    p = f.product(session, uniq, variants=3)
    session.commit()
    session.expire_all()
    assert [v.sku for v in session.get(Product, p.id).variants] == \
        ["SKU-%s-%d" % (uniq, i) for i in range(3)]


def test_product_price_not_negative(session, uniq):
    p = f.product(session, uniq)
    p.price = Decimal("-1")
    with pytest.raises(IntegrityError, match="price_nonneg"):
        session.flush()


def test_product_sku_unique(session, uniq):
    p = f.product(session, uniq)
    session.commit()
    session.add(Product(category_id=p.category_id, sku=p.sku, name="dup", price=1))
    with pytest.raises(IntegrityError, match="uq_products_sku"):
        session.flush()


def test_category_tree(session, uniq):
    root = f.category(session, uniq + "-root")
    child = f.category(session, uniq + "-child", parent=root)
    session.commit()
    session.expire_all()
    assert session.get(Category, child.id).parent.slug == "cat-" + uniq + "-root"


def test_category_slug_format(session, uniq):
    session.add(Category(slug="Not A Slug", name="x"))
    with pytest.raises(IntegrityError, match="slug_format"):
        session.flush()


def test_deleting_product_removes_variants(session, uniq):
    p = f.product(session, uniq, variants=2)
    session.commit()
    session.delete(p)
    session.commit()
    left = session.execute(select(ProductVariant).where(ProductVariant.sku.like("SKU-%s-%%" % uniq))).all()
    assert left == []


def test_image_positions_unique(session, uniq):
    p = f.product(session, uniq)
    session.add(ProductImage(product_id=p.id, url="https://img/1", position=0))
    session.flush()
    session.add(ProductImage(product_id=p.id, url="https://img/2", position=0))
    with pytest.raises(IntegrityError):
        session.flush()


def test_tags(session, uniq):
    p = f.product(session, uniq)
    tags = [Tag(name="%s-%s" % (t, uniq)) for t in ("new", "sale")]
    session.add_all(tags)
    session.flush()
    session.add_all([ProductTag(product_id=p.id, tag_id=t.id) for t in tags])
    session.commit()
    names = session.execute(select(Tag.name).join(ProductTag).where(ProductTag.product_id == p.id)
                            .order_by(Tag.name)).scalars().all()
    assert names == ["new-" + uniq, "sale-" + uniq]


def test_price_list_validity(session, uniq):
    session.add(PriceList(name="pl-" + uniq, currency="EUR", valid_from=dt.date(2024, 5, 1),
                          valid_to=dt.date(2024, 1, 1)))
    with pytest.raises(IntegrityError, match="valid_range"):
        session.flush()


def test_prices_per_variant(session, uniq):
    p = f.product(session, uniq, variants=2)
    pl = PriceList(name="pl-" + uniq, currency="EUR", valid_from=dt.date(2024, 1, 1))
    session.add(pl)
    session.flush()
    session.add_all([Price(price_list_id=pl.id, variant_id=v.id, amount=Decimal("9.99") + i)
                     for i, v in enumerate(p.variants)])
    session.commit()
    amounts = session.execute(select(Price.amount).where(Price.price_list_id == pl.id)
                              .order_by(Price.amount)).scalars().all()
    assert amounts == [Decimal("9.99"), Decimal("10.99")]


def test_review_rating_range(session, uniq):
    p = f.product(session, uniq)
    u = f.user(session, uniq)
    session.add(Review(product_id=p.id, user_id=u.id, rating=6))
    with pytest.raises(IntegrityError, match="rating_range"):
        session.flush()


def test_one_review_per_user_and_product(session, uniq):
    p = f.product(session, uniq)
    u = f.user(session, uniq)
    session.add(Review(product_id=p.id, user_id=u.id, rating=4, body="good"))
    session.commit()
    session.add(Review(product_id=p.id, user_id=u.id, rating=1))
    with pytest.raises(IntegrityError):
        session.flush()
