"""What the HTTP handlers would call."""
from sqlalchemy import func, select

from app.db import Session
from app.models import Note, Role, User


async def create_user(email: str, role: str = "member") -> int:
    async with Session() as s:
        role_id = (await s.execute(select(Role.id).where(Role.name == role))).scalar_one()
        user = User(email=email, role_id=role_id)
        s.add(user)
        await s.commit()
        return user.id


async def add_note(user_id: int, body: str) -> int:
    async with Session() as s:
        note = Note(user_id=user_id, body=body)
        s.add(note)
        await s.commit()
        return note.id


async def count_users() -> int:
    async with Session() as s:
        return (await s.execute(select(func.count()).select_from(User))).scalar_one()


async def role_names() -> list:
    async with Session() as s:
        return sorted((await s.execute(select(Role.name))).scalars())
