import copy
import functools
import os
import pathlib

import pytest
import yaml

from grading.services.model_file import read as model_file_read
from grading.store.db import connect
from grading.store.users import create_user
from tests.factories import make_config, spec_model

TESTS = pathlib.Path(__file__).resolve().parent

# Reading a model file's YAML (pure-Python ruamel.yaml, bounded) is a pure function of its bytes
# and takes ~60 ms for the example file: most of a test's own app setup. The tests read the same
# few files thousands of times, so each text is parsed once per test run and its data handed out
# as a fresh copy; a refused text raises each time (exceptions are not cached).
_parse_yaml = model_file_read.parse_yaml


@functools.lru_cache(maxsize=256)
def _parsed(raw: bytes):
    return _parse_yaml(raw)


def _parse_yaml_once(raw: bytes):
    data, root = _parsed(raw)
    return copy.deepcopy(data), root


model_file_read.parse_yaml = _parse_yaml_once
# A hash at the cost scrypt has in production takes a quarter of a second on a busy machine, and a
# logged-in test client makes two; the tests hash at 1/32 of that cost unless marked
# `production_hashing` (tests/integration/test_login.py keeps one test on today's parameters).
CHEAP_HASH_METHOD = "scrypt:1024:8:1"


def pytest_collection_modifyitems(config, items):
    """Everything in tests/e2e is marked e2e, everything in tests/fuzz fuzz."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder in ("e2e", "fuzz"):
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture(autouse=True)
def cheap_password_hashing(request, monkeypatch):
    if request.node.get_closest_marker("production_hashing") is None:
        from grading.store import users

        monkeypatch.setattr(users, "HASH_METHOD", CHEAP_HASH_METHOD)


@pytest.fixture
def model_dict():
    """The SPEC's example model file as a dict; a test may change it before `config` reads it."""
    return spec_model()


@pytest.fixture
def config(model_dict):
    return make_config(model_dict)


@pytest.fixture
def db(tmp_path):
    database = connect(str(tmp_path / "grading.db"))
    yield database
    database.conn.close()


@pytest.fixture
def config_file(tmp_path, model_dict):
    path = tmp_path / "grading.yaml"
    path.write_text(yaml.safe_dump(model_dict, sort_keys=False))
    return str(path)


@pytest.fixture
def write(tmp_path):
    """write("name.jsonl", text) -> path"""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return _write


@pytest.fixture
def cli(tmp_path, config_file):
    """Run the grading CLI against a temporary database and model file."""
    from click.testing import CliRunner

    from grading.cli import main

    runner = CliRunner()
    db_path = str(tmp_path / "cli.db")

    def _run(*args, config=None, input=None):
        return runner.invoke(
            main,
            ["--db", db_path, "--config", config or config_file, *args],
            input=input,
            catch_exceptions=False,
        )

    _run.db_path = db_path
    return _run


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def app(tmp_path, config_file):
    from grading.app import create_app

    return create_app(
        {"DATABASE": str(tmp_path / "api.db"), "MODEL_FILE": config_file, "TESTING": True}
    )


@pytest.fixture
def tokens(app):
    """A bearer header per role."""
    from grading.store.auth import create_token

    database = connect(app.config["DATABASE"])
    headers = {}
    for role in ("admin", "marketing", "sales", "viewer"):
        _, secret = create_token(database, role, role, "2026-11-01T00:00:00Z")
        headers[role] = {"Authorization": f"Bearer {secret}"}
    database.conn.close()
    return headers


@pytest.fixture
def client(app):
    return app.test_client()


def logged_in_client(app, name: str, role: str):
    """A test client of the web view, logged in as a new user NAME with ROLE."""
    import re

    db = connect(app.config["DATABASE"])
    create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    db.conn.close()
    client = app.test_client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": "correct horse", "csrf": token})
    return client
