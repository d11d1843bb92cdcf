from sqlalchemy import (CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Numeric,
                        String, UniqueConstraint)
from sqlalchemy.orm import relationship

from .base import Base, Timestamped


class Cart(Timestamped, Base):
    __tablename__ = "carts"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    items = relationship("CartItem", cascade="all, delete-orphan")


class CartItem(Base):
    __tablename__ = "cart_items"
    cart_id = Column(ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True)
    variant_id = Column(ForeignKey("product_variants.id"), primary_key=True)
    quantity = Column(Integer, nullable=False)
    __table_args__ = (CheckConstraint("quantity BETWEEN 1 AND 99", name="quantity_range"),)


class Order(Timestamped, Base):
    __tablename__ = "orders"
    user_id = Column(ForeignKey("users.id"), nullable=False)
    shipping_address_id = Column(ForeignKey("addresses.id"))
    status = Column(String(12), nullable=False, default="pending")
    total = Column(Numeric(12, 2), nullable=False, default=0)
    __table_args__ = (CheckConstraint("status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')", name="status"),
                      CheckConstraint("total >= 0", name="total_nonneg"),
                      Index("ix_orders_user_status", "user_id", "status"))
    lines = relationship("OrderLine", back_populates="order", cascade="all, delete-orphan")


class OrderLine(Base):
    __tablename__ = "order_lines"
    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    variant_id = Column(ForeignKey("product_variants.id"), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price = Column(Numeric(12, 2), nullable=False)
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),
                      CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
                      UniqueConstraint("order_id", "variant_id"))
    order = relationship("Order", back_populates="lines")


class Payment(Timestamped, Base):
    __tablename__ = "payments"
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    amount = Column(Numeric(12, 2), nullable=False)
    method = Column(String(12), nullable=False)
    provider_ref = Column(String(64), unique=True)
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      CheckConstraint("method IN ('card', 'transfer', 'voucher')", name="method"))


class Refund(Timestamped, Base):
    __tablename__ = "refunds"
    payment_id = Column(ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True)
    amount = Column(Numeric(12, 2), nullable=False)
    reason = Column(String(200))
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class Shipment(Timestamped, Base):
    __tablename__ = "shipments"
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    warehouse_id = Column(ForeignKey("warehouses.id"), nullable=False)
    carrier = Column(String(40), nullable=False)
    tracking_code = Column(String(60), unique=True)
    shipped_at = Column(DateTime(timezone=True))


class ShipmentItem(Base):
    __tablename__ = "shipment_items"
    shipment_id = Column(ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True)
    order_line_id = Column(ForeignKey("order_lines.id", ondelete="CASCADE"), primary_key=True)
    quantity = Column(Integer, nullable=False)
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class Coupon(Timestamped, Base):
    __tablename__ = "coupons"
    code = Column(String(20), nullable=False, unique=True)
    percent_off = Column(Integer, nullable=False)
    max_redemptions = Column(Integer)
    __table_args__ = (CheckConstraint("percent_off BETWEEN 1 AND 100", name="percent_range"),
                      CheckConstraint("code = upper(code)", name="code_upper"))


class CouponRedemption(Timestamped, Base):
    __tablename__ = "coupon_redemptions"
    coupon_id = Column(ForeignKey("coupons.id", ondelete="CASCADE"), nullable=False)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, unique=True)
    __table_args__ = (Index("ix_coupon_redemptions_coupon", "coupon_id"),)
