from fastapi import Depends, FastAPI

from .config import settings
from .deps import verify_key
from .routers import items
from .routers.users import users_router

app = FastAPI(dependencies=[Depends(verify_key)])
app.include_router(items.router, prefix=settings.API_PREFIX)  # "/api", from the settings
app.include_router(users_router)


@app.get("/health")
def health():
    return {"ok": True}
