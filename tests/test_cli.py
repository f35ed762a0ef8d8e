"""The `pyreg` command as one program: verb routing, one-line errors, light start-up."""
import argparse
import importlib
import subprocess
import sys

import pytest

from pyreg_cli import main as cli


@pytest.mark.parametrize("module_name", cli.VERB_MODULES)
def test_every_verb_has_its_owner(module_name):
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module_name).register(subparsers)
    for verb in subparsers.choices:
        assert cli.VERB_OWNERS.get(verb) == module_name, verb


@pytest.mark.parametrize("argv,verb", [
    (["run", "busybox"], "run"),
    (["--root", "/x", "pull", "a"], "pull"),
    (["--root=/x", "--debug", "serve"], "serve"),
    (["--debug"], None),
])
def test_requested_verb_skips_global_options(argv, verb):
    assert cli.requested_verb(argv) == verb


def test_run_path_does_not_load_the_server_or_http_stack():
    code = ("import sys; from pyreg_cli.main import build_parser; build_parser('run');"
            "import runtime.container.run;"
            "print(sorted(m for m in ('aiohttp', 'boto3', 'registry', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_image_is_one_line_on_stderr(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pyreg_cli.main", "--root", str(tmp_path),
                             "inspect", "no/such-image:1"], capture_output=True, text=True)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["pyreg: image 'no/such-image:1' not found in the local store"], result.stderr
