"""GraphQL plug-in: queries and mutations as routes (graphene, strawberry, ariadne)."""

from __future__ import annotations

from fwhelp import edges, mini_graph, routes

from migrator.analysis.frameworks.graphql import camel


def test_camel_case_names() -> None:
    assert camel("checkout_complete") == "checkoutComplete"
    assert camel("products") == "products"


def test_graphene_roots_combined_from_project_classes() -> None:
    g = mini_graph(
        {
            "shop/__init__.py": "",
            "shop/products.py": """
            import graphene

            class ProductQueries(graphene.ObjectType):
                products = graphene.List(graphene.String)
                product_by_id = graphene.Field(graphene.String, name="product")

                def resolve_products(self, info): ...

            class CreateProduct(graphene.Mutation):
                def mutate(self, info): ...
        """,
            "shop/schema.py": """
            import graphene
            from shop.products import CreateProduct, ProductQueries

            class Query(ProductQueries, graphene.ObjectType):
                me = graphene.String()

            class Mutation(graphene.ObjectType):
                create_product = CreateProduct.Field()

            class Unused(graphene.ObjectType):
                hidden = graphene.String()

            schema = graphene.Schema(query=Query, mutation=Mutation)
        """,
        }
    )
    assert routes(g) == {
        ("QUERY", "me", "shop.schema:Query"),
        ("QUERY", "products", "shop.products:ProductQueries"),
        ("QUERY", "product", "shop.products:ProductQueries"),
        ("MUTATION", "createProduct", "shop.products:CreateProduct"),
    }
    assert ("shop.schema:Mutation", "shop.products:CreateProduct") in edges(g, "route")


def test_strawberry_and_ariadne() -> None:
    g = mini_graph(
        {
            "api/__init__.py": "",
            "api/strawberry_schema.py": """
            import strawberry

            def get_books(): ...

            @strawberry.type
            class Query:
                books: list[str] = strawberry.field(resolver=get_books)

                @strawberry.field
                def top_book(self) -> str: ...

            @strawberry.type
            class Mutation:
                @strawberry.mutation
                def add_book(self, title: str) -> str: ...

            schema = strawberry.Schema(query=Query, mutation=Mutation)
        """,
            "api/ariadne_schema.py": """
            from ariadne import MutationType, QueryType

            query = QueryType()
            mutation = MutationType()

            @query.field("hello")
            def resolve_hello(*_): ...

            @mutation.field("checkoutComplete")
            def resolve_checkout(*_): ...
        """,
        }
    )
    assert routes(g) == {
        ("QUERY", "books", "api.strawberry_schema:get_books"),
        ("QUERY", "topBook", "api.strawberry_schema:Query"),
        ("MUTATION", "addBook", "api.strawberry_schema:Mutation"),
        ("QUERY", "hello", "api.ariadne_schema:resolve_hello"),
        ("MUTATION", "checkoutComplete", "api.ariadne_schema:resolve_checkout"),
    }
