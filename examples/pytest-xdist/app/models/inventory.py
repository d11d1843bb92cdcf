from sqlalchemy import (CheckConstraint, Column, Date, ForeignKey, Index, Integer, Numeric,
                        String, UniqueConstraint)

from .base import Base, Timestamped


class Warehouse(Timestamped, Base):
    __tablename__ = "warehouses"
    code = Column(String(10), nullable=False, unique=True)
    city = Column(String(100), nullable=False)
    capacity = Column(Integer, nullable=False)
    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)


class StockLevel(Base):
    __tablename__ = "stock_levels"
    warehouse_id = Column(ForeignKey("warehouses.id", ondelete="CASCADE"), primary_key=True)
    variant_id = Column(ForeignKey("product_variants.id", ondelete="CASCADE"), primary_key=True, index=True)
    on_hand = Column(Integer, nullable=False, default=0)
    reserved = Column(Integer, nullable=False, default=0)
    __table_args__ = (CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
                      CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_range"))


class StockMovement(Timestamped, Base):
    __tablename__ = "stock_movements"
    warehouse_id = Column(ForeignKey("warehouses.id"), nullable=False)
    variant_id = Column(ForeignKey("product_variants.id"), nullable=False)
    delta = Column(Integer, nullable=False)
    reason = Column(String(20), nullable=False)
    __table_args__ = (CheckConstraint("delta <> 0", name="delta_nonzero"),
                      CheckConstraint("reason IN ('receipt', 'sale', 'return', 'adjustment')", name="reason"),
                      Index("ix_stock_movements_wh_variant", "warehouse_id", "variant_id"))


class Supplier(Timestamped, Base):
    __tablename__ = "suppliers"
    name = Column(String(120), nullable=False, unique=True)
    email = Column(String(254))
    lead_time_days = Column(Integer, nullable=False, default=7)
    __table_args__ = (CheckConstraint("lead_time_days BETWEEN 0 AND 365", name="lead_time"),)


class PurchaseOrder(Timestamped, Base):
    __tablename__ = "purchase_orders"
    supplier_id = Column(ForeignKey("suppliers.id"), nullable=False, index=True)
    warehouse_id = Column(ForeignKey("warehouses.id"), nullable=False, index=True)
    status = Column(String(12), nullable=False, default="draft")
    expected_on = Column(Date)
    __table_args__ = (CheckConstraint("status IN ('draft', 'sent', 'received', 'cancelled')", name="status"),)


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    id = Column(Integer, primary_key=True)
    purchase_order_id = Column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), nullable=False)
    variant_id = Column(ForeignKey("product_variants.id"), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_cost = Column(Numeric(12, 2), nullable=False)
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),
                      UniqueConstraint("purchase_order_id", "variant_id"))
