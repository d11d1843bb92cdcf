from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer,
                        Numeric, String, Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from .base import Base, Timestamped


class Category(Timestamped, Base):
    __tablename__ = "categories"
    parent_id = Column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    slug = Column(String(80), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9-]+$'", name="slug_format"),
                      CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"))
    parent = relationship("Category", remote_side="Category.id")


class Brand(Timestamped, Base):
    __tablename__ = "brands"
    name = Column(String(120), nullable=False, unique=True)


class Product(Timestamped, Base):
    __tablename__ = "products"
    category_id = Column(ForeignKey("categories.id"), nullable=False, index=True)
    brand_id = Column(ForeignKey("brands.id"), index=True)
    sku = Column(String(32), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    description = Column(Text)
    price = Column(Numeric(12, 2), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    __table_args__ = (CheckConstraint("price >= 0", name="price_nonneg"),
                      Index("ix_products_active_name", "is_active", "name"))
    category = relationship("Category")
    variants = relationship("ProductVariant", back_populates="product", cascade="all, delete-orphan")


class ProductVariant(Timestamped, Base):
    __tablename__ = "product_variants"
    product_id = Column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
    sku = Column(String(40), nullable=False, unique=True)
    size = Column(String(10))
    color = Column(String(30))
    weight_grams = Column(Integer, nullable=False, default=0)
    __table_args__ = (CheckConstraint("weight_grams >= 0", name="weight_nonneg"),)
    product = relationship("Product", back_populates="variants")


class ProductImage(Timestamped, Base):
    __tablename__ = "product_images"
    product_id = Column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
    url = Column(String(500), nullable=False)
    position = Column(Integer, nullable=False, default=0)
    __table_args__ = (UniqueConstraint("product_id", "position"),
                      CheckConstraint("position >= 0", name="position_nonneg"))


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False, unique=True)


class ProductTag(Base):
    __tablename__ = "product_tags"
    product_id = Column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    tag_id = Column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)


class PriceList(Timestamped, Base):
    __tablename__ = "price_lists"
    name = Column(String(80), nullable=False, unique=True)
    currency = Column(String(3), nullable=False)
    valid_from = Column(Date, nullable=False)
    valid_to = Column(Date)
    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
                      CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"))


class Price(Base):
    __tablename__ = "prices"
    price_list_id = Column(ForeignKey("price_lists.id", ondelete="CASCADE"), primary_key=True)
    variant_id = Column(ForeignKey("product_variants.id", ondelete="CASCADE"), primary_key=True, index=True)
    amount = Column(Numeric(12, 2), nullable=False)
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_nonneg"),)


class Review(Timestamped, Base):
    __tablename__ = "reviews"
    product_id = Column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    rating = Column(Integer, nullable=False)
    body = Column(Text)
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
                      UniqueConstraint("product_id", "user_id"))
