"""The import rules of the layout (README "Where things live"), read from the code with ``ast``:

1. No feature imports another feature's views or forms. A feature is a package ``app/<feature>/``; what
   features share lives in ``app/`` top-level modules (``app/forms.py``, ``app/api.py`` …).
   ``app/__init__.py`` is the composition root and registers every blueprint, so it is not a feature.
2. A pure module imports neither Flask nor SQLAlchemy nor the app's extensions, directly or through another
   module of the app: it takes plain values and returns plain values, and its unit tests need no app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
PURE = ["app/meetings/rotation/engine.py", "app/search/analysis.py", "app/regions/map.py", "app/markdown.py",
        "app/translit.py", "app/backup/archive.py", "app/search/gazetteer.py", "app/search/thesaurus.py",
        "app/search/expansion.py"]
FORBIDDEN = ("flask", "flask_babel", "flask_login", "flask_wtf", "flask_sqlalchemy", "flask_migrate",
             "flask_limiter", "sqlalchemy", "werkzeug", "app.extensions", "app.database")


def module_name(path: Path) -> str:
    """``app/meetings/rotation/engine.py`` → ``app.meetings.rotation.engine`` (a package: its name)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether ``name`` is a module or package of the app (not a name defined inside one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """The modules ``path`` imports, anywhere in it (functions too), relative imports resolved;
    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module of the app."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            for alias in node.names:
                if is_module(f"{module}.{alias.name}"):
                    found.add(f"{module}.{alias.name}")
    return found


def feature_of(module: str) -> str | None:
    """The feature package a module belongs to (``app.meetings.rotation.views`` → ``meetings``), or None for
    the app's top-level modules."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "app" or not (APP / parts[1]).is_dir():
        return None
    return parts[1]


def is_views_or_forms(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last in ("views", "forms") or last.endswith(("_views", "_forms"))


def app_modules() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_rules_see_real_imports():
    """The parser finds what the rules rely on (so the rules below cannot pass by reading nothing)."""
    found = imports(APP / "case_studies" / "engagement" / "views.py")
    assert "app.case_studies.views" in found and "flask" in found
    assert feature_of("app.meetings.rotation.views") == "meetings" and feature_of("app.forms") is None
    assert is_views_or_forms("app.meetings.programme.forms") and not is_views_or_forms("app.forms.helpers")


def test_no_feature_imports_another_features_views_or_forms():
    offences = []
    for path in app_modules():
        importer = module_name(path)
        mine = feature_of(importer)
        if mine is None:
            continue
        for imported in imports(path):
            theirs = feature_of(imported)
            if theirs is not None and theirs != mine and is_views_or_forms(imported):
                offences.append(f"{importer} imports {imported}")
    assert offences == [], "move what they share to an app/ top-level module:\n" + "\n".join(offences)


def _impure_imports(path: Path, seen: set[Path]) -> list[str]:
    """Forbidden imports of ``path`` and of the app modules it imports (each module read once)."""
    seen.add(path)
    problems = []
    for imported in sorted(imports(path)):
        if imported == "__future__":
            continue
        if any(imported == name or imported.startswith(name + ".") for name in FORBIDDEN):
            problems.append(f"{module_name(path)} imports {imported}")
        elif imported.split(".")[0] == "app" and is_module(imported):
            target = ROOT.joinpath(*imported.split("."))
            target = target.with_suffix(".py") if target.with_suffix(".py").is_file() else target / "__init__.py"
            if target not in seen and target.name != "__init__.py":
                problems += _impure_imports(target, seen)
    return problems


@pytest.mark.parametrize("relative", PURE)
def test_pure_modules_import_no_flask_and_no_database(relative):
    path = ROOT / relative
    assert path.exists(), f"{relative} is listed as pure but does not exist"
    assert _impure_imports(path, set()) == []
