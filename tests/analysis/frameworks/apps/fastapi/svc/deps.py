from fastapi import Depends


def get_db():
    yield "db"


def verify_key():
    return True


def current_user(db=Depends(get_db)):  # noqa: B008
    return {"db": db}
