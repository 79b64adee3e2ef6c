"""Each permission rule is written once: in ``accounts/access.py``."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "node_modules", "tests", "var", ".git", "bench"}


def _source_files():
    for path in ROOT.rglob("*"):
        if path.suffix in {".py", ".html"} and not SKIP.intersection(path.relative_to(ROOT).parts):
            yield path


def test_only_the_access_module_asks_whether_someone_is_signed_in():
    # Every other module asks accounts.access (is_active_user, is_admin, the may_ rules), so a rule
    # such as "a disabled account counts as signed out" cannot differ between two pages.
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _source_files()
        if path != ROOT / "accounts" / "access.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "is_authenticated" in line
    ]
    assert found == []
