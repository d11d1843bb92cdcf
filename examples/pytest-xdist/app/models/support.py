from sqlalchemy import (Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer,
                        String, Text)

from .base import Base, Timestamped


class Ticket(Timestamped, Base):
    __tablename__ = "tickets"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    order_id = Column(ForeignKey("orders.id", ondelete="SET NULL"))
    subject = Column(String(200), nullable=False)
    priority = Column(Integer, nullable=False, default=3)
    status = Column(String(10), nullable=False, default="open")
    __table_args__ = (CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
                      CheckConstraint("status IN ('open', 'pending', 'closed')", name="status"),
                      Index("ix_tickets_open", "status", "priority"))


class TicketMessage(Timestamped, Base):
    __tablename__ = "ticket_messages"
    ticket_id = Column(ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    author_id = Column(ForeignKey("users.id"), nullable=False)
    body = Column(Text, nullable=False)
    __table_args__ = (CheckConstraint("length(body) > 0", name="body_nonempty"),)


class Notification(Timestamped, Base):
    __tablename__ = "notifications"
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(30), nullable=False)
    read = Column(Boolean, nullable=False, default=False)
    __table_args__ = (Index("ix_notifications_unread", "user_id", "read"),)


class Webhook(Timestamped, Base):
    __tablename__ = "webhooks"
    organization_id = Column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True)
    url = Column(String(500), nullable=False)
    event = Column(String(40), nullable=False)
    __table_args__ = (CheckConstraint("url LIKE 'https://%'", name="https_only"),)


class WebhookDelivery(Timestamped, Base):
    __tablename__ = "webhook_deliveries"
    webhook_id = Column(ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True)
    status_code = Column(Integer)
    attempts = Column(Integer, nullable=False, default=1)
    delivered_at = Column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("attempts BETWEEN 1 AND 10", name="attempts_range"),
                      CheckConstraint("status_code IS NULL OR status_code BETWEEN 100 AND 599", name="status_code"))
