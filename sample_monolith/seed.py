"""Demo data: the real catalog of summer 2024, trimmed. Fixed values so every start is identical."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from sample_monolith.accounts.passwords import hash_password
from sample_monolith.accounts.services import ensure_staff_account
from sample_monolith.db import db_session
from sample_monolith.models import Address, Category, Customer, Product, StockLevel, Warehouse
from sample_monolith.promotions.models import Coupon
from sample_monolith.utils import slugify

CATEGORIES = [
    # slug, name, parent slug, description
    ("fresh-produce", "Fresh Produce", None, "Picked this week on Georgia farms."),
    ("pantry", "Pantry", None, "Grits, nuts and the staples of a Southern kitchen."),
    ("preserves-honey", "Preserves & Honey", "pantry", "Jams, jellies and raw local honey."),
    ("sauces", "Sauces & Condiments", None, "Barbecue sauce, relish and hot sauce."),
    ("bakery", "Bakery", None, "Cakes, pies and baking mixes from Atlanta bakers."),
    ("dairy-eggs", "Dairy & Eggs", None, "From pasture-raised herds north of the city."),
    ("drinks", "Drinks", None, "Sweet tea, cider and coffee roasted in Atlanta."),
    ("gifts", "Gift Boxes", None, "Georgia in a box, for the folks back home."),
]

# sku, name, category, price cents, weight g, perishable, origin, tags, featured, image
PRODUCTS = [
    ("PSP-PEA-001", "Fort Valley Peaches, half peck", "fresh-produce", 1499, 2700, True,
     "Fort Valley, GA", "peach,fruit,summer", True, "peach.svg"),
    ("PSP-PEA-002", "Elberta Peaches, quart basket", "fresh-produce", 799, 1100, True,
     "Fort Valley, GA", "peach,fruit", False, "peach.svg"),
    ("PSP-ONI-001", "Vidalia Sweet Onions, 5 lb bag", "fresh-produce", 899, 2300, True,
     "Vidalia, GA", "onion,vidalia,vegetable", True, "onion.svg"),
    ("PSP-MUS-001", "Muscadine Grapes, pint", "fresh-produce", 649, 500, True,
     "Dahlonega, GA", "grape,muscadine,fruit", False, "placeholder.svg"),
    ("PSP-COL-001", "Collard Greens, bunch", "fresh-produce", 399, 700, True,
     "Decatur, GA", "greens,collards,vegetable", False, "placeholder.svg"),
    ("PSP-SWP-001", "Sweet Potatoes, 3 lb", "fresh-produce", 599, 1400, True,
     "Tifton, GA", "sweet potato,vegetable", False, "placeholder.svg"),
    ("PSP-GRT-001", "Stone-Ground Yellow Grits, 2 lb", "pantry", 1099, 950, False,
     "Athens, GA", "grits,corn,breakfast", True, "placeholder.svg"),
    ("PSP-GRT-002", "Stone-Ground White Grits, 2 lb", "pantry", 1099, 950, False,
     "Athens, GA", "grits,corn,breakfast", False, "placeholder.svg"),
    ("PSP-CRN-001", "Heirloom Cornmeal, 2 lb", "pantry", 899, 950, False,
     "Athens, GA", "cornmeal,corn,baking", False, "placeholder.svg"),
    ("PSP-PEC-001", "Albany Pecan Halves, 1 lb", "pantry", 1899, 480, False,
     "Albany, GA", "pecan,nuts,baking", True, "pecan.svg"),
    ("PSP-PEC-002", "Cinnamon Glazed Pecans, 8 oz", "pantry", 1149, 250, False,
     "Albany, GA", "pecan,nuts,snack", False, "pecan.svg"),
    ("PSP-PNT-001", "Cajun Boiled Peanuts, 4 cans", "pantry", 1299, 1600, False,
     "Plains, GA", "peanut,snack", False, "placeholder.svg"),
    ("PSP-PNT-002", "Blister-Fried Peanuts, 12 oz", "pantry", 799, 360, False,
     "Plains, GA", "peanut,snack", False, "placeholder.svg"),
    ("PSP-SYR-001", "Georgia Cane Syrup, 12 oz", "pantry", 1399, 500, False,
     "Cairo, GA", "syrup,cane,breakfast", False, "placeholder.svg"),
    ("PSP-HON-001", "Savannah Tupelo Honey, 16 oz", "preserves-honey", 1799, 620, False,
     "Savannah, GA", "honey,tupelo,sweet", True, "honey.svg"),
    ("PSP-HON-002", "Wildflower Honey, 12 oz", "preserves-honey", 1199, 480, False,
     "Blue Ridge, GA", "honey,wildflower,sweet", False, "honey.svg"),
    ("PSP-JAM-001", "Peach Preserves, 10 oz", "preserves-honey", 899, 420, False,
     "Fort Valley, GA", "peach,jam,preserves", True, "peach.svg"),
    ("PSP-JAM-002", "Muscadine Jelly, 10 oz", "preserves-honey", 849, 420, False,
     "Dahlonega, GA", "muscadine,jelly,preserves", False, "placeholder.svg"),
    ("PSP-JAM-003", "Fig Preserves, 10 oz", "preserves-honey", 949, 420, False,
     "St. Simons Island, GA", "fig,jam,preserves", False, "placeholder.svg"),
    ("PSP-BBQ-001", "Sweet Heat BBQ Sauce, 18 oz", "sauces", 999, 650, False,
     "Atlanta, GA", "bbq,sauce,grilling", True, "placeholder.svg"),
    ("PSP-BBQ-002", "Mustard Vinegar BBQ Sauce, 18 oz", "sauces", 999, 650, False,
     "Augusta, GA", "bbq,sauce,mustard", False, "placeholder.svg"),
    ("PSP-HOT-001", "Peach Habanero Hot Sauce, 5 oz", "sauces", 799, 230, False,
     "Atlanta, GA", "hot sauce,peach,spicy", False, "peach.svg"),
    ("PSP-REL-001", "Chow-Chow Relish, 16 oz", "sauces", 899, 560, False,
     "Macon, GA", "relish,chow-chow,pickles", False, "placeholder.svg"),
    ("PSP-REL-002", "Vidalia Onion Relish, 16 oz", "sauces", 849, 560, False,
     "Vidalia, GA", "relish,onion,vidalia", False, "onion.svg"),
    ("PSP-PEP-001", "Pepper Jelly, 10 oz", "sauces", 799, 420, False,
     "Savannah, GA", "pepper,jelly,spicy", False, "placeholder.svg"),
    ("PSP-CAK-001", "Brown Butter Pound Cake", "bakery", 2499, 1300, True,
     "Atlanta, GA", "cake,pound cake,dessert", True, "placeholder.svg"),
    ("PSP-PIE-001", "Georgia Pecan Pie, 9 inch", "bakery", 2999, 1200, True,
     "Atlanta, GA", "pie,pecan,dessert", False, "pecan.svg"),
    ("PSP-MIX-001", "Buttermilk Biscuit Mix", "bakery", 799, 900, False,
     "Athens, GA", "biscuits,baking,breakfast", False, "placeholder.svg"),
    ("PSP-MIX-002", "Peach Cobbler Mix", "bakery", 899, 900, False,
     "Fort Valley, GA", "peach,cobbler,baking,dessert", False, "peach.svg"),
    ("PSP-CHE-001", "Pimento Cheese, 12 oz", "dairy-eggs", 899, 380, True,
     "Atlanta, GA", "cheese,pimento,spread", True, "placeholder.svg"),
    ("PSP-EGG-001", "Pasture-Raised Eggs, dozen", "dairy-eggs", 799, 750, True,
     "Ellijay, GA", "eggs,breakfast", False, "placeholder.svg"),
    ("PSP-BUT-001", "Cultured Buttermilk, quart", "dairy-eggs", 599, 1050, True,
     "Madison, GA", "buttermilk,dairy,baking", False, "placeholder.svg"),
    ("PSP-TEA-001", "Sweet Tea Concentrate, 32 oz", "drinks", 1099, 1100, False,
     "Atlanta, GA", "tea,sweet tea", True, "placeholder.svg"),
    ("PSP-CID-001", "Sparkling Peach Cider, 4 pack", "drinks", 1599, 1800, False,
     "Jasper, GA", "peach,cider,sparkling", False, "peach.svg"),
    ("PSP-COF-001", "Westside Roast Coffee Beans, 12 oz", "drinks", 1699, 370, False,
     "Atlanta, GA", "coffee,beans,breakfast", False, "placeholder.svg"),
    ("PSP-JUI-001", "Muscadine Grape Juice, 32 oz", "drinks", 1199, 1150, False,
     "Dahlonega, GA", "muscadine,juice,grape", False, "placeholder.svg"),
    ("PSP-BOX-001", "Georgia Sampler Gift Box", "gifts", 5999, 3800, False,
     "Atlanta, GA", "gift,box,sampler,peach,pecan,honey", True, "logo.svg"),
    ("PSP-BOX-002", "Peach Lover's Gift Box", "gifts", 4499, 2600, False,
     "Fort Valley, GA", "gift,box,peach", False, "peach.svg"),
    ("PSP-BOX-003", "Limited Reserve Holiday Crate", "gifts", 11999, 6500, False,
     "Atlanta, GA", "gift,box,holiday,limited", False, "logo.svg"),
]

DESCRIPTIONS = {
    "fresh-produce": "Shipped the day it is picked. Keep cool and enjoy within a week.",
    "pantry": "Small-batch and shelf stable; stock up for the winter.",
    "preserves-honey": "Made in small kettles with Georgia fruit and no pectin shortcuts.",
    "sauces": "Bottled in Georgia for grilling, dipping and everything in between.",
    "bakery": "Baked to order in our Atlanta kitchen.",
    "dairy-eggs": "From family farms that let the animals outside.",
    "drinks": "Something cold for the porch, or hot for the morning.",
    "gifts": "Packed in a pine crate with a handwritten card.",
}

WAREHOUSES = [
    ("ATL", "Atlanta Westside Fulfilment", "Atlanta", "30318", 1),
    ("MAC", "Macon Cold Storage", "Macon", "31201", 2),
    ("SAV", "Savannah Port Warehouse", "Savannah", "31401", 3),
]

COUPONS = [
    # code, kind, value, min subtotal, starts, expires, usage limit, per customer, description
    ("PEACH10", "percent", 10, 0, None, None, None, None, "10% off everything"),
    ("WELCOME5", "fixed", 500, 2500, None, None, None, 1, "$5 off your first order over $25"),
    ("FREESHIP", "free_shipping", 0, 4000, None, None, None, None,
     "Free shipping on orders over $40"),
    ("SUMMER2023", "percent", 15, 0, datetime(2023, 6, 1), datetime(2023, 9, 1), None, None,
     "Summer 2023 sale"),
    ("HOLIDAY2099", "percent", 20, 0, datetime(2099, 11, 20), datetime(2099, 12, 31), 500, 1,
     "Holiday preview"),
]

DEMO_EMAIL = "demo@peachstate.example"
DEMO_PASSWORD = "georgia-peaches"


def _stock_for(index: int, sku: str) -> dict[str, int]:
    if sku == "PSP-BOX-003":
        return {"ATL": 3, "MAC": 0, "SAV": 0}
    if sku == "PSP-MUS-001":
        return {"ATL": 0, "MAC": 0, "SAV": 0}  # out of season
    return {"ATL": 60 + (index * 7) % 40, "MAC": 20 + (index * 11) % 25,
            "SAV": (index * 5) % 15}


def seed_if_empty() -> bool:
    """Load the demo data when the catalog is empty; returns whether it did."""
    if db_session.execute(select(func.count(Product.id))).scalar_one():
        return False
    categories: dict[str, Category] = {}
    for position, (slug, name, parent, description) in enumerate(CATEGORIES):
        category = Category(slug=slug, name=name, description=description, position=position,
                            parent=categories.get(parent) if parent else None)
        categories[slug] = category
        db_session.add(category)
    warehouses = {code: Warehouse(code=code, name=name, city=city, zip_code=zip_code,
                                  priority=priority)
                  for code, name, city, zip_code, priority in WAREHOUSES}
    db_session.add_all(warehouses.values())
    for index, row in enumerate(PRODUCTS):
        sku, name, category, price, weight, perishable, origin, tags, featured, image = row
        # Fixed ids: inventory (and any service with its own database) refers to products by
        # id, so the seed gives every product the same id everywhere.
        product = Product(id=index + 1, sku=sku, slug=slugify(name), name=name,
                          description=f"{name} from {origin}. {DESCRIPTIONS[category]}",
                          price_cents=price, weight_grams=weight, is_perishable=perishable,
                          origin=origin, tags=tags, featured=featured, image=image,
                          category=categories[category])
        if sku == "PSP-PEC-002":
            product.sale_price_cents = 899
            product.sale_ends_at = datetime(2099, 1, 1)
        db_session.add(product)
        for code, quantity in _stock_for(index, sku).items():
            db_session.add(StockLevel(product_id=index + 1, warehouse=warehouses[code],
                                      on_hand=quantity))
    for code, kind, value, minimum, starts, expires, limit, per_customer, text in COUPONS:
        db_session.add(Coupon(code=code, kind=kind, value=value, min_subtotal_cents=minimum,
                              starts_at=starts, expires_at=expires, usage_limit=limit,
                              per_customer_limit=per_customer, description=text))
    iterations = current_app.config["PASSWORD_ITERATIONS"]
    demo = Customer(email=DEMO_EMAIL, name="Demo Shopper",
                    password_hash=hash_password(DEMO_PASSWORD, iterations))
    demo.addresses.append(Address(label="Home", recipient="Demo Shopper",
                                  line1="675 Ponce de Leon Ave NE", city="Atlanta", state="GA",
                                  zip_code="30308", is_default=True))
    db_session.add(demo)
    db_session.commit()
    if db_session.get_bind().dialect.name == "postgresql":
        # the fixed ids above leave PostgreSQL's sequence at 1: the next product would clash
        db_session.execute(select(func.setval(func.pg_get_serial_sequence("products", "id"),
                                              select(func.max(Product.id)).scalar_subquery())))
        db_session.commit()
    ensure_staff_account(current_app.config["STAFF_EMAIL"], current_app.config["STAFF_PASSWORD"])
    return True
