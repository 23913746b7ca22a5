"""Shared helpers of the deploy checks: the repository root, the files under deploy/ and the binary."""

import os
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OBSERVABILITY = DEPLOY / "observability"


def load_yaml(path: pathlib.Path):
    with open(path) as file:
        return yaml.safe_load(file)


def load_all_yaml(path: pathlib.Path) -> list:
    with open(path) as file:
        return [document for document in yaml.safe_load_all(file) if document is not None]


@pytest.fixture(scope="session")
def matchmaker_bin() -> str:
    """The matchmaker binary scripts/check-deploy.sh built (MATCHMAKER_BIN), or the debug build."""
    path = os.environ.get("MATCHMAKER_BIN", str(ROOT / ".build" / "debug" / "matchmaker"))
    assert os.access(path, os.X_OK), f"no matchmaker binary at {path}: run `swift build --product matchmaker`"
    return path
