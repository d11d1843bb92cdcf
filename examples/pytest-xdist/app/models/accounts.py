from sqlalchemy import (Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index,
                        Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from .base import Base, Timestamped


class Organization(Timestamped, Base):
    __tablename__ = "organizations"
    name = Column(String(120), nullable=False, unique=True)
    plan = Column(String(20), nullable=False, default="free")
    seats = Column(Integer, nullable=False, default=1)
    __table_args__ = (
        CheckConstraint("plan IN ('free', 'team', 'enterprise')", name="plan"),
        CheckConstraint("seats > 0", name="seats_positive"),
    )
    users = relationship("User", back_populates="organization")


class User(Timestamped, Base):
    __tablename__ = "users"
    organization_id = Column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True)
    email = Column(String(254), nullable=False, unique=True)
    display_name = Column(String(120), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    __table_args__ = (CheckConstraint("position('@' in email) > 1", name="email_has_at"),)
    organization = relationship("Organization", back_populates="users")
    addresses = relationship("Address", back_populates="user", cascade="all, delete-orphan")


class Role(Base):
    __tablename__ = "roles"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False, unique=True)
    __table_args__ = (CheckConstraint("name = lower(name)", name="lowercase"),)


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id = Column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True)


class ApiKey(Timestamped, Base):
    __tablename__ = "api_keys"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    prefix = Column(String(8), nullable=False, unique=True)
    secret_hash = Column(String(64), nullable=False)
    revoked_at = Column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("length(secret_hash) = 64", name="hash_len"),)


class Address(Timestamped, Base):
    __tablename__ = "addresses"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    line1 = Column(String(200), nullable=False)
    city = Column(String(100), nullable=False)
    country = Column(String(2), nullable=False)
    postcode = Column(String(12))
    __table_args__ = (CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_iso"),)
    user = relationship("User", back_populates="addresses")


class LoginSession(Timestamped, Base):
    __tablename__ = "login_sessions"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token = Column(String(64), nullable=False, unique=True)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        Index("ix_login_sessions_user_expires", "user_id", "expires_at"),
    )


class UserPreference(Base):
    __tablename__ = "user_preferences"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key = Column(String(60), primary_key=True)
    value = Column(Text, nullable=False)


class AuditLog(Timestamped, Base):
    """Every write a test makes is also logged here with the test worker's
    name, so the suite can prove workers never see each other's rows."""
    __tablename__ = "audit_log"
    worker = Column(String(40), nullable=False, index=True)
    action = Column(String(60), nullable=False)
    subject = Column(String(120), nullable=False)


class Invitation(Timestamped, Base):
    __tablename__ = "invitations"
    organization_id = Column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)
    email = Column(String(254), nullable=False)
    accepted = Column(Boolean, nullable=False, default=False)
    __table_args__ = (UniqueConstraint("organization_id", "email"),)
