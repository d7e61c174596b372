class Memo:
    def get(self, key):
        return lambda f: f


memo = Memo()


def about():
    return "about"


@memo.get("/not-a-route")
def cached():
    return 1
