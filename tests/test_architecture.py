"""The one rule of data flow: the engine never imports streamlit; pages and ui never import torch."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


ENGINE = sorted((ROOT / "metaviz").rglob("*.py"))
UI_SIDE = sorted([ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "ui").glob("*.py")])


def test_the_scan_sees_the_files():
    assert len(ENGINE) > 10 and len(UI_SIDE) > 5
    assert "torch" in imported_roots(ROOT / "metaviz" / "functional.py")  # the parser finds imports


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_never_imports_streamlit(path):
    assert "streamlit" not in imported_roots(path)


@pytest.mark.parametrize("path", UI_SIDE, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_and_ui_never_import_torch(path):
    assert not imported_roots(path) & {"torch", "functorch"}


def test_every_page_file_is_listed_in_the_router():
    router = (ROOT / "app.py").read_text()
    for page in (ROOT / "pages").glob("*.py"):
        assert f'"pages/{page.name}"' in router, f"{page.name} is not in app.py's st.navigation"
