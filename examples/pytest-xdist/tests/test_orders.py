from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.models import (Cart, CartItem, Coupon, CouponRedemption, Order, OrderLine, Payment,
                        Refund, Shipment, ShipmentItem)
from tests import factories as f


def _order(session, uniq, qty=2):
    u = f.user(session, uniq)
    v = f.product(session, uniq).variants[0]
    o = Order(user_id=u.id, shipping_address_id=f.address(session, u).id)
    o.lines.append(OrderLine(variant_id=v.id, quantity=qty, unit_price=Decimal("5.00")))
    o.total = Decimal("5.00") * qty
    session.add(o)
    session.flush()
    return o


def test_cart_items(session, uniq):
    u = f.user(session, uniq)
    p = f.product(session, uniq, variants=2)
    c = Cart(user_id=u.id)
    c.items = [CartItem(variant_id=v.id, quantity=2) for v in p.variants]
    session.add(c)
    session.commit()
    n = session.execute(select(func.sum(CartItem.quantity)).where(CartItem.cart_id == c.id)).scalar_one()
    assert n == 4


def test_cart_quantity_range(session, uniq):
    u = f.user(session, uniq)
    v = f.product(session, uniq).variants[0]
    c = Cart(user_id=u.id)
    c.items = [CartItem(variant_id=v.id, quantity=100)]
    session.add(c)
    with pytest.raises(IntegrityError, match="quantity_range"):
        session.flush()


def test_order_total(session, uniq):
    o = _order(session, uniq, qty=3)
    session.commit()
    assert session.get(Order, o.id, populate_existing=True).total == Decimal("15.00")


def test_order_status_checked(session, uniq):
    o = _order(session, uniq)
    o.status = "teleported"
    with pytest.raises(IntegrityError, match="status"):
        session.flush()


def test_order_line_quantity_positive(session, uniq):
    o = _order(session, uniq)
    o.lines[0].quantity = 0
    with pytest.raises(IntegrityError, match="quantity_positive"):
        session.flush()


def test_order_line_foreign_key(session, uniq):
    o = _order(session, uniq)
    session.add(OrderLine(order_id=o.id, variant_id=2_000_000_000, quantity=1, unit_price=1))
    with pytest.raises(IntegrityError, match="fk_order_lines_variant_id"):
        session.flush()


def test_payment_and_refund(session, uniq):
    o = _order(session, uniq)
    pay = Payment(order_id=o.id, amount=o.total, method="card", provider_ref="pay-" + uniq)
    session.add(pay)
    session.flush()
    session.add(Refund(payment_id=pay.id, amount=Decimal("1.00"), reason="scratch"))
    o.status = "paid"
    session.commit()
    refunded = session.execute(select(func.sum(Refund.amount)).join(Payment)
                               .where(Payment.order_id == o.id)).scalar_one()
    assert refunded == Decimal("1.00")


def test_payment_method_checked(session, uniq):
    o = _order(session, uniq)
    session.add(Payment(order_id=o.id, amount=1, method="seashells"))
    with pytest.raises(IntegrityError, match="method"):
        session.flush()


def test_shipment(session, uniq):
    o = _order(session, uniq)
    w = f.warehouse(session, uniq)
    sh = Shipment(order_id=o.id, warehouse_id=w.id, carrier="post", tracking_code="TR-" + uniq)
    session.add(sh)
    session.flush()
    session.add(ShipmentItem(shipment_id=sh.id, order_line_id=o.lines[0].id, quantity=2))
    session.commit()
    assert session.execute(select(ShipmentItem.quantity).where(ShipmentItem.shipment_id == sh.id)).scalar_one() == 2


def test_coupon_code_upper_and_range(session, uniq):
    session.add(Coupon(code="lower" + uniq[-4:], percent_off=10))
    with pytest.raises(IntegrityError, match="code_upper"):
        session.flush()
    session.rollback()
    session.add(Coupon(code="BIG" + uniq[-4:].upper(), percent_off=150))
    with pytest.raises(IntegrityError, match="percent_range"):
        session.flush()


def test_coupon_redeemed_once_per_order(session, uniq):
    o = _order(session, uniq)
    c = Coupon(code="C" + uniq.upper(), percent_off=10)
    session.add(c)
    session.flush()
    session.add(CouponRedemption(coupon_id=c.id, order_id=o.id))
    session.commit()
    session.add(CouponRedemption(coupon_id=c.id, order_id=o.id))
    with pytest.raises(IntegrityError):
        session.flush()
