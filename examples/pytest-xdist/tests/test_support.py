import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.models import Notification, Ticket, TicketMessage, Webhook, WebhookDelivery
from tests import factories as f


def test_ticket_with_messages(session, uniq):
    u = f.user(session, uniq)
    t = Ticket(user_id=u.id, subject="broken " + uniq, priority=2)
    session.add(t)
    session.flush()
    session.add_all([TicketMessage(ticket_id=t.id, author_id=u.id, body=b) for b in ("help", "thanks")])
    session.commit()
    n = session.execute(select(func.count()).select_from(TicketMessage)
                        .where(TicketMessage.ticket_id == t.id)).scalar_one()
    assert n == 2


def test_ticket_priority_range(session, uniq):
    u = f.user(session, uniq)
    session.add(Ticket(user_id=u.id, subject="x", priority=9))
    with pytest.raises(IntegrityError, match="priority_range"):
        session.flush()


def test_empty_message_rejected(session, uniq):
    u = f.user(session, uniq)
    t = Ticket(user_id=u.id, subject="x")
    session.add(t)
    session.flush()
    session.add(TicketMessage(ticket_id=t.id, author_id=u.id, body=""))
    with pytest.raises(IntegrityError, match="body_nonempty"):
        session.flush()


def test_unread_notifications(session, uniq):
    u = f.user(session, uniq)
    session.add_all([Notification(user_id=u.id, kind="order", read=r) for r in (False, False, True)])
    session.commit()
    unread = session.execute(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == u.id, Notification.read.is_(False))).scalar_one()
    assert unread == 2


def test_webhook_requires_https(session, uniq):
    o = f.org(session, uniq)
    session.add(Webhook(organization_id=o.id, url="http://insecure.example", event="order.paid"))
    with pytest.raises(IntegrityError, match="https_only"):
        session.flush()


def test_webhook_deliveries(session, uniq):
    o = f.org(session, uniq)
    w = Webhook(organization_id=o.id, url="https://hooks.example/" + uniq, event="order.paid")
    session.add(w)
    session.flush()
    session.add_all([WebhookDelivery(webhook_id=w.id, status_code=c, attempts=a)
                     for c, a in ((500, 1), (200, 2))])
    session.commit()
    codes = session.execute(select(WebhookDelivery.status_code).where(WebhookDelivery.webhook_id == w.id)
                            .order_by(WebhookDelivery.attempts)).scalars().all()
    assert codes == [500, 200]
    session.add(WebhookDelivery(webhook_id=w.id, status_code=999))
    with pytest.raises(IntegrityError, match="status_code"):
        session.flush()
