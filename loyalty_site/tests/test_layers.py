"""The apps are layers: an app imports only from itself and the apps below it.

A function that needs an app above its own moves up to that app, or is handed what it needs from above (the
counter's figures of a scanned customer are analytics', passed in by loyalty_site/urls.py). Imports inside
functions count. Tests follow the same order: an app's tests import their own app and the apps below it
(their test factories too); fixtures that reach into every app are in the root conftest.py. Migrations are
left out: Django's dependencies order them.
"""

import ast
import graphlib
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]

# The layers, lowest first: demo (seed_demo) and loyalty_site (settings, urls, wiring) are on top.
LAYERS = [
    "system",
    "merchants",
    "customers",
    "loyalty",
    "transactions",
    "analytics",
    "api",
    "operations",
    "demo",
    "loyalty_site",
]
RANK = {app: rank for rank, app in enumerate(LAYERS)}
SKIPPED = {"migrations", ".venv", "__pycache__"}
BEYOND = "<above the top package>"  # a relative import that leaves the app


def source_files(app: str) -> list[Path]:
    return [path for path in sorted((ROOT / app).rglob("*.py")) if not SKIPPED & set(path.relative_to(ROOT).parts)]


def first_party() -> set[str]:
    """The top-level modules of this repository: its packages and its .py files."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    return packages | {path.stem for path in ROOT.glob("*.py")}


def imports_of(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import in the source of `module`, at any depth, relative ones made absolute;
    import_module("...") and __import__("...") of a literal name count too."""
    package = module.split(".")[:-1]  # a module's package; for a package's __init__, the package itself
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module))
            else:
                up = node.level - 1
                base = package[: len(package) - up] if up < len(package) else [BEYOND]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return sorted(found)


def app_imports(app: str) -> list[tuple[str, int, str, str]]:
    """(file, line, module, the module's top-level name) of every first-party import of `app`'s sources."""
    ours = first_party()
    found = []
    for path in source_files(app):
        for line, module in imports_of(path.read_text(), ".".join(path.relative_to(ROOT).with_suffix("").parts)):
            top = module.split(".")[0]
            if top in ours or top == BEYOND:
                found.append((str(path.relative_to(ROOT)), line, module, top))
    return found


def test_every_app_of_the_project_is_a_layer():
    """Nothing escapes the check: each installed app that lives in this repository is in LAYERS, and each
    layer is an installed app with its sources."""
    installed = {config.name for config in apps.get_app_configs() if Path(config.path).resolve().parent == ROOT}
    assert installed == set(LAYERS)
    assert all(source_files(app) for app in LAYERS)


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_only_itself_and_the_apps_below_it(app):
    upward = [
        f"{path}:{line}: {app} imports {module}, "
        + (f"and {top} is above {app}" if top in RANK else f"and {top} is in no layer")
        for path, line, module, top in app_imports(app)
        if top not in RANK or RANK[top] > RANK[app]
    ]
    assert not upward, f"Layers, lowest first: {' -> '.join(LAYERS)}\n" + "\n".join(upward)


def test_the_apps_import_each_other_without_a_cycle():
    graph = {app: {top for _, _, _, top in app_imports(app) if top in RANK and top != app} for app in LAYERS}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"The apps import each other in a cycle: {' -> '.join(error.args[1])}")
    assert set(order) == set(LAYERS)


def test_the_check_sees_imports_in_functions_relative_ones_and_import_module():
    source = """
import analytics.models
from system import codes

def resolve():
    from api.services import api_key_create
    from .checkout import Item
    from .. import selectors
    from ... import settings
    importlib.import_module("loyalty_site.urls")
"""
    assert imports_of(source, "transactions.services.scan") == [
        (2, "analytics.models"),
        (3, "system"),
        (6, "api.services"),
        (7, "transactions.services.checkout"),
        (8, "transactions"),
        (9, BEYOND),
        (10, "loyalty_site.urls"),
    ]
    assert imports_of("from . import checkout", "transactions.services.__init__") == [(1, "transactions.services")]
