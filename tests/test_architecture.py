"""The layout is the architecture: sync/ never imports app/; only screens, state and the entry
point import flet; the server is never imported by the device side; documented settings exist."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path, *, members: bool = False) -> set[str]:
    """The modules a file imports, at any depth (an import inside a function counts); with
    ``members``, also ``module.name`` for each name taken from a module (it may be one)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if members:
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_sync_never_imports_app():
    for path in _modules("sync"):
        assert not {n for n in _imports(path) if n == "app" or n.startswith("app.")}, path


def _is_screen(path: Path) -> bool:
    return path.name in ("screens.py", "screen.py", "root.py") or path.stem.endswith("_screen")


def test_only_screens_state_ui_and_main_import_flet():
    # Screens, the features' observable state and the shared UI pieces may; services, the
    # store and the sync runner may not.
    for path in _modules("app"):
        uses_flet = any(n == "flet" or n.startswith("flet.") for n in _imports(path))
        if uses_flet:
            assert (_is_screen(path) or path.stem == "state" or path.stem.endswith("_state")
                    or path.parent.name == "ui" or path == ROOT / "app" / "main.py"), path


FEATURES = ("access", "declare", "person", "households", "supervision")


def _app_imports(path: Path) -> set[str]:
    """The app packages (``app.<package>``) a module imports."""
    return {n.split(".")[1] for n in _imports(path) if n.startswith("app.") and n.count(".") >= 1}


def test_the_device_layer_and_the_ui_pieces_know_no_feature():
    for path in _modules("app/device") + _modules("app/ui"):
        assert not _app_imports(path) & {*FEATURES, "shell"}, path


def test_features_never_import_each_other_or_the_shell():
    # Only the shell knows every feature: a feature's state answers with an Outcome and its
    # screens see the shell through app.ui.context, so nothing calls back up a layer.
    for feature in FEATURES:
        for path in _modules(f"app/{feature}"):
            others = _app_imports(path) & {*FEATURES, "shell"} - {feature}
            assert not others, (path, others)


MAX_CLASS_LINES, MAX_MODULE_LINES = 300, 400


def test_no_class_in_the_app_over_300_lines_and_no_module_over_400():
    # One class held every screen's state once (850 lines, ten jobs): kept small on purpose.
    for path in _modules("app"):
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_MODULE_LINES, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= MAX_CLASS_LINES, (path, node.name, length)


def test_device_code_never_imports_the_server():
    device = _modules("app") + [p for p in _modules("sync") if "server" not in p.parts]
    server_only = {"fastapi", "uvicorn", "alembic", "psycopg", "typer", "argon2"}
    for path in device:
        names = _imports(path)
        if path == ROOT / "app" / "main.py":
            names -= {"uvicorn"}  # `hssk --web` only; flet-web brings uvicorn with it
        assert not any(n.startswith("sync.server") or n.split(".")[0] in server_only
                       for n in names), path


def test_every_environment_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    used = set()
    for path in _modules("app") + _modules("sync"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith("HSSK_") and node.value.isupper():
                used.add(node.value)
    assert used, "expected some HSSK_ settings"
    assert not {name for name in used if name not in readme}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph(package: str) -> dict[str, set[str]]:
    """Which of the package's modules each imports."""
    paths = {_module_name(p): p for p in _modules(package) if "migrations" not in p.parts}
    return {name: {m for m in _imports(path, members=True) if m in paths and m != name
                   and paths[m].name != "__init__.py"}
            for name, path in paths.items()}


@pytest.mark.parametrize("package", ["sync", "app"])
def test_no_import_cycles(package: str):
    graph = _module_graph(package)
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            assert state.get(imported) != 1, " -> ".join([*trail, module, imported])
            if imported not in state:
                visit(imported, [*trail, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_app_finds_its_assets_and_pinned_keys():
    # Moving config.py one folder down once pointed these at app/assets, which does not exist:
    # the web app started without its assets and trusted no pinned key.
    from app.device.config import ASSETS_DIR, PINNED_KEYS_DIR

    assert ASSETS_DIR == ROOT / "assets" and ASSETS_DIR.is_dir()
    assert PINNED_KEYS_DIR.is_dir()
