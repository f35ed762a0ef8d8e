import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import pyreg_cli.main as cli_main
from pyreg_cli.main import main
from tests.support.processes import require_binary


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def isolated_docker_config(tmp_path, monkeypatch):
    """Credentials go to a per-test docker config, never the machine's."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("PYREG_HOME", raising=False)


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "pyreg-root"


@pytest.fixture
def pyreg(root, capsys, monkeypatch):
    """Run the pyreg CLI in-process against the test's store. Only the image
    verbs are registered, so other groups' work in progress cannot break these."""
    monkeypatch.setattr(cli_main, "VERB_MODULES", ("pyreg_cli.images",))

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["--root", str(root), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    return run


@pytest.fixture
def skopeo():
    binary = require_binary("skopeo", "skopeo")

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([binary, "--insecure-policy", *args], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done
    return run


@pytest.fixture
def registry_host(distribution) -> str:
    return distribution.split("://", 1)[1]
