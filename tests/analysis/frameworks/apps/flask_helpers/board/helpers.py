"""Registration helpers: the rule and the view come from the parameters."""


def register_view(bp_or_app, routes, view_func, *args, **kwargs):
    for route in routes:
        bp_or_app.add_url_rule(route, *args, view_func=view_func, **kwargs)


def add_page(target, rule, view, methods):
    target.route(rule, methods=methods)(view)
