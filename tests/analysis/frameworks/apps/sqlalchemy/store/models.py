from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import mapped_column, relationship

from .db import Base


class Customer(Base):
    __tablename__ = "customers"
    id = Column(Integer, primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    customer = relationship("Customer", back_populates="orders")
    lines = relationship(lambda: OrderLine)


class OrderLine(Base):
    __tablename__ = "order_lines"
    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey(Order.id))
    product_id = mapped_column(ForeignKey("products.id"))


order_tags = Table(
    "order_tags",
    Base.metadata,
    Column("order_id", ForeignKey("orders.id")),
    Column("tag", String),
)


class Employee(Base):
    __tablename__ = "employees"
    id = Column(Integer, primary_key=True)


class Manager(Employee):
    __mapper_args__ = {"polymorphic_identity": "manager"}


class AbstractThing(Base):
    __abstract__ = True
