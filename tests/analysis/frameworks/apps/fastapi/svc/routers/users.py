from fastapi import APIRouter


class Registry:
    def get(self, path):
        return lambda f: f


registry = Registry()
users_router = APIRouter(prefix="/users")


@users_router.delete("/{uid}")
def delete_user(uid: int):
    return None


def me():
    return {}


users_router.add_api_route("/me", me, methods=["GET"])


@registry.get("/not-a-route")
def helper():
    return None
