from fastapi import APIRouter

router = APIRouter()


@router.post("/")
def add_review():
    return {}
