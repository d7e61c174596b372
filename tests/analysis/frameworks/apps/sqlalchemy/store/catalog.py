from typing import Optional

from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class CatalogBase(DeclarativeBase):
    pass


class Product(CatalogBase):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)


def lookup(session, pid) -> Optional[Product]:  # noqa: UP045 - the spelling under test
    return session.get(Product, pid)
