"""``.env.example`` names every variable the settings read (with its default and a comment)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILES = [ROOT / "config" / "settings.py", ROOT / "config" / "env.py"]
# ``NAME=value`` lines, commented out (``# NAME=``) or not.
EXAMPLE_LINE = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def variables_read(path: Path) -> set[str]:
    """Names passed as the first argument to ``env(...)`` or ``env.<cast>(...)`` (or looped
    over to be passed), plus those looked up in ``env.ENVIRON`` (``"NAME" in env.ENVIRON``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
            )
            first = node.args[0]
            if is_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
        if isinstance(node, (ast.DictComp, ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            # ``env.str(name) for name in ("A", "B")``: the names are the loop's constants.
            for generator in node.generators:
                if isinstance(generator.iter, (ast.Tuple, ast.List)):
                    names.update(
                        e.value
                        for e in generator.iter.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    )
        environ_lookup = isinstance(node, ast.Compare) and any(
            isinstance(c, ast.Attribute) and c.attr == "ENVIRON" for c in node.comparators
        )
        if environ_lookup and isinstance(node.left, ast.Constant):
            names.add(node.left.value)
    return names


def test_the_parser_finds_what_the_settings_read():
    """The scan itself: it must see a plain read, a typed read and a read in a loop."""
    read = variables_read(ROOT / "config" / "settings.py")
    assert {"DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL", "PROMIDATA_IMPORT_URL"} <= read
    assert {"AWS_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= read


def test_env_example_lists_every_variable_the_settings_read():
    read = set().union(*(variables_read(path) for path in SETTINGS_FILES))
    listed = set(EXAMPLE_LINE.findall((ROOT / ".env.example").read_text()))
    missing = sorted(read - listed)
    assert not missing, f".env.example does not list: {', '.join(missing)}"
