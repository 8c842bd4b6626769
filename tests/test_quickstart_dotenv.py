"""The quick start writes ``.env`` once, so that workers and cron read the same settings."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ

ROOT = Path(__file__).resolve().parents[1]


def _quickstart():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        spec = importlib.util.spec_from_file_location(
            "quickstart", ROOT / "scripts" / "quickstart.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def _read(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    environ.Env.ENVIRON, saved = values, environ.Env.ENVIRON
    try:
        environ.Env.read_env(str(path), overwrite=True)
    finally:
        environ.Env.ENVIRON = saved
    return values


def test_a_missing_env_file_is_written_with_the_sample_sqlite_and_media(tmp_path):
    quickstart = _quickstart()
    dotenv = tmp_path / ".env"
    assert quickstart.write_dotenv(dotenv, environ={}) is True
    values = _read(dotenv)
    sample = Path(urlsplit(values["PROMIDATA_IMPORT_URL"]).path)
    assert sample == ROOT / "sample_feed" / "Import" / "Import.txt" and sample.is_file()
    assert values["DATABASE_URL"] == f"sqlite:///{ROOT / 'var' / 'db.sqlite3'}"
    assert values["MEDIA_ROOT"] == str(ROOT / "var" / "media")
    # The import URL of a real profile holds its GUID: the file is its owner's only.
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    assert quickstart.dotenv_sets("PROMIDATA_IMPORT_URL", dotenv)


def test_an_existing_env_file_is_never_overwritten(tmp_path):
    quickstart = _quickstart()
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "PROMIDATA_IMPORT_URL=https://promi-dl.de/Profiles/Live/x/Import/Import.txt\n"
    )
    assert quickstart.write_dotenv(dotenv, environ={}) is False
    assert "promi-dl.de" in dotenv.read_text() and "sqlite" not in dotenv.read_text()


def test_a_value_in_the_environment_is_written_instead_of_the_sample(tmp_path):
    quickstart = _quickstart()
    dotenv = tmp_path / ".env"
    mine = "https://promi-dl.de/Profiles/Live/mine/Import/Import.txt"
    quickstart.write_dotenv(dotenv, environ={"PROMIDATA_IMPORT_URL": mine})
    assert _read(dotenv)["PROMIDATA_IMPORT_URL"] == mine
    commented = tmp_path / "other.env"
    commented.write_text("# PROMIDATA_IMPORT_URL=https://example.com/Import.txt\n")
    assert not quickstart.dotenv_sets("PROMIDATA_IMPORT_URL", commented)
