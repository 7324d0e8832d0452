"""The layout is the architecture: sync/ never imports app/; only screens, state and the entry
point import flet; the server is never imported by the device side; documented settings exist."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_sync_never_imports_app():
    for path in _modules("sync"):
        assert not {n for n in _imports(path) if n == "app" or n.startswith("app.")}, path


def test_only_views_state_and_main_import_flet():
    # The screens' observable state (four modules) may; services and the store may not.
    allowed = {ROOT / "app" / name for name in ("state.py", "collab_state.py", "state_types.py",
                                                "supervision_state.py", "main.py")}
    for path in _modules("app"):
        uses_flet = any(n == "flet" or n.startswith("flet.") for n in _imports(path))
        if uses_flet:
            assert path in allowed or (ROOT / "app" / "views") in path.parents, path


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
