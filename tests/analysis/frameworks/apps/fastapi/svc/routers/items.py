from typing import Annotated

from fastapi import APIRouter, Depends

from ..deps import current_user, get_db, verify_key
from . import reviews

router = APIRouter(prefix="/items", dependencies=[Depends(verify_key)])


@router.get("/")
def list_items(db=Depends(get_db)):  # noqa: B008
    return []


@router.api_route("/{item_id}", methods=["GET", "PUT"])
def item(item_id: int, user: Annotated[dict, Depends(current_user)]):
    return {}


router.include_router(reviews.router, prefix="/{item_id}/reviews")
