import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.models import (PurchaseOrder, PurchaseOrderLine, StockLevel, StockMovement, Supplier,
                        Warehouse)
from tests import factories as f


def test_warehouse_capacity_positive(session, uniq):
    session.add(Warehouse(code=uniq[-10:], city="x", capacity=0))
    with pytest.raises(IntegrityError, match="capacity_positive"):
        session.flush()


def test_stock_reserved_within_on_hand(session, uniq):
    w = f.warehouse(session, uniq)
    v = f.product(session, uniq).variants[0]
    session.add(StockLevel(warehouse_id=w.id, variant_id=v.id, on_hand=5, reserved=6))
    with pytest.raises(IntegrityError, match="reserved_range"):
        session.flush()


def test_stock_movements_sum_to_level(session, uniq):
    w = f.warehouse(session, uniq)
    v = f.product(session, uniq).variants[0]
    for delta, reason in ((10, "receipt"), (-3, "sale"), (1, "return")):
        session.add(StockMovement(warehouse_id=w.id, variant_id=v.id, delta=delta, reason=reason))
    session.commit()
    total = session.execute(select(func.sum(StockMovement.delta))
                            .where(StockMovement.variant_id == v.id)).scalar_one()
    assert total == 8


def test_stock_movement_reason_checked(session, uniq):
    w = f.warehouse(session, uniq)
    v = f.product(session, uniq).variants[0]
    session.add(StockMovement(warehouse_id=w.id, variant_id=v.id, delta=1, reason="theft"))
    with pytest.raises(IntegrityError, match="reason"):
        session.flush()


def test_stock_movement_delta_nonzero(session, uniq):
    w = f.warehouse(session, uniq)
    v = f.product(session, uniq).variants[0]
    session.add(StockMovement(warehouse_id=w.id, variant_id=v.id, delta=0, reason="adjustment"))
    with pytest.raises(IntegrityError, match="delta_nonzero"):
        session.flush()


def test_supplier_lead_time(session, uniq):
    session.add(Supplier(name="sup-" + uniq, lead_time_days=400))
    with pytest.raises(IntegrityError, match="lead_time"):
        session.flush()


def test_purchase_order_with_lines(session, uniq):
    w = f.warehouse(session, uniq)
    p = f.product(session, uniq, variants=2)
    s = Supplier(name="sup-" + uniq)
    session.add(s)
    session.flush()
    po = PurchaseOrder(supplier_id=s.id, warehouse_id=w.id, expected_on=dt.date(2030, 1, 1))
    session.add(po)
    session.flush()
    for v in p.variants:
        session.add(PurchaseOrderLine(purchase_order_id=po.id, variant_id=v.id, quantity=4,
                                      unit_cost=Decimal("2.50")))
    session.commit()
    value = session.execute(select(func.sum(PurchaseOrderLine.quantity * PurchaseOrderLine.unit_cost))
                            .where(PurchaseOrderLine.purchase_order_id == po.id)).scalar_one()
    assert value == Decimal("20.00")


def test_purchase_order_status_checked(session, uniq):
    w = f.warehouse(session, uniq)
    s = Supplier(name="sup-" + uniq)
    session.add(s)
    session.flush()
    session.add(PurchaseOrder(supplier_id=s.id, warehouse_id=w.id, status="lost"))
    with pytest.raises(IntegrityError, match="status"):
        session.flush()
