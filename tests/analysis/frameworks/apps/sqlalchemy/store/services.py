from sqlalchemy import delete, select, text

from .audit import AuditEntry
from .catalog import Product, lookup
from .models import Customer, Order, OrderLine, order_tags


def list_orders(session):
    return session.query(Order).all()


def find_customer(session, cid):
    return session.execute(select(Customer).where(Customer.id == cid)).scalar()


def place_order(session, customer):
    order = Order(customer=customer)
    session.add(order)
    session.add(OrderLine(order=order))
    session.commit()


def cancel(session, oid):
    found = session.get(Order, oid)
    session.delete(found)


def purge(session):
    session.execute(delete(OrderLine).where(OrderLine.id > 0))


def audit():
    AuditEntry.query.filter_by(id=2).delete()


def audit_list():
    return AuditEntry.query.all()


def tag(conn):
    conn.execute(order_tags.insert())


def report(session):
    session.execute(text("SELECT * FROM customers JOIN orders ON orders.customer_id = customers.id"))
    session.execute(text("UPDATE products SET id = id"))


def product_ids(session):
    return session.query(Product.id).all()


def load_customer(session, cid) -> "Customer | None":
    return session.get(Customer, cid)


def rename(session, cid):
    customer = load_customer(session, cid)
    customer.id = cid


def touch_product(session, pid):
    product = lookup(session, pid)
    product.id += 0
