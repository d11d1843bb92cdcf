import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.models import (Address, ApiKey, Invitation, LoginSession, Organization, Role, User,
                        UserPreference, UserRole)
from tests import factories as f


def test_create_organization_and_read_back(session, uniq):
    f.org(session, uniq, plan="team")
    session.commit()
    got = session.execute(select(Organization).where(Organization.name == "org-" + uniq)).scalar_one()
    assert got.plan == "team" and got.seats == 3 and got.created_at is not None


def test_organization_plan_is_checked(session, uniq):
    session.add(Organization(name="bad-" + uniq, plan="platinum", seats=1))
    with pytest.raises(IntegrityError, match="ck_organizations_plan"):
        session.flush()


def test_organization_seats_must_be_positive(session, uniq):
    session.add(Organization(name="zero-" + uniq, plan="free", seats=0))
    with pytest.raises(IntegrityError, match="seats_positive"):
        session.flush()


def test_user_email_unique(session, uniq):
    o = f.org(session, uniq)
    f.user(session, uniq, o)
    session.commit()
    session.add(User(organization=o, email="%s-0@example.com" % uniq, display_name="again"))
    with pytest.raises(IntegrityError, match="uq_users_email"):
        session.flush()


def test_user_email_needs_at_sign(session, uniq):
    o = f.org(session, uniq)
    session.add(User(organization=o, email="nobody.example.com", display_name="x"))
    with pytest.raises(IntegrityError, match="email_has_at"):
        session.flush()


def test_users_of_organization(session, uniq):
    o = f.org(session, uniq)
    for n in range(3):
        f.user(session, uniq, o, n)
    session.commit()
    session.expire_all()
    assert sorted(u.email for u in session.get(Organization, o.id).users) == \
        ["%s-%d@example.com" % (uniq, n) for n in range(3)]


def test_deleting_organization_cascades_to_users(session, uniq):
    u = f.user(session, uniq)
    org_id, user_id = u.organization_id, u.id
    session.commit()
    session.execute(Organization.__table__.delete().where(Organization.id == org_id))
    session.commit()
    assert session.get(User, user_id, populate_existing=True) is None


def test_roles_are_lowercase(session, uniq):
    session.add(Role(name="Admin" + uniq))
    with pytest.raises(IntegrityError, match="lowercase"):
        session.flush()


def test_user_roles(session, uniq):
    u = f.user(session, uniq)
    roles = [Role(name="%s-%s" % (r, uniq)) for r in ("admin", "viewer")]
    session.add_all(roles)
    session.flush()
    session.add_all([UserRole(user_id=u.id, role_id=r.id) for r in roles])
    session.commit()
    n = session.execute(select(func.count()).select_from(UserRole).where(UserRole.user_id == u.id)).scalar_one()
    assert n == 2


def test_api_key_hash_length(session, uniq):
    u = f.user(session, uniq)
    session.add(ApiKey(user_id=u.id, prefix=uniq[:8], secret_hash="abc"))
    with pytest.raises(IntegrityError, match="hash_len"):
        session.flush()


def test_address_country_code(session, uniq):
    u = f.user(session, uniq)
    f.address(session, u, "DE")
    session.commit()
    session.add(Address(user=u, line1="x", city="y", country="de"))
    with pytest.raises(IntegrityError, match="country_iso"):
        session.flush()


def test_login_session_must_expire_after_creation(session, uniq):
    u = f.user(session, uniq)
    session.add(LoginSession(user_id=u.id, token="tok-" + uniq, expires_at=f.days(-1)))
    with pytest.raises(IntegrityError, match="expires_after_created"):
        session.flush()


def test_preferences_per_user(session, uniq):
    u = f.user(session, uniq)
    session.add_all([UserPreference(user_id=u.id, key="theme", value="dark"),
                     UserPreference(user_id=u.id, key="lang", value="fr")])
    session.commit()
    prefs = dict(session.execute(select(UserPreference.key, UserPreference.value)
                                 .where(UserPreference.user_id == u.id)).all())
    assert prefs == {"theme": "dark", "lang": "fr"}


def test_invitation_unique_per_organization(session, uniq):
    o = f.org(session, uniq)
    session.add(Invitation(organization_id=o.id, email="a@example.com"))
    session.commit()
    session.add(Invitation(organization_id=o.id, email="a@example.com"))
    with pytest.raises(IntegrityError):
        session.flush()
