"""The whole pyreg lifecycle across its three parts: `pyreg push` (client)
to `pyreg serve` (registry), `pyreg pull` into a fresh store, `pyreg run`
(runtime) of what came back."""
from __future__ import annotations

import json
import os

import pytest

from tests.e2e.commands import pyreg


def test_push_reports_the_digest_the_registry_serves(cli_pushed, registry, image):
    assert cli_pushed.digest == str(image.store_digest)
    assert registry.manifest_digest("e2e/cli", "1") == cli_pushed.digest


def test_pull_into_a_fresh_store_keeps_the_digest(cli_pushed, tmp_path):
    pyreg(tmp_path / "fresh", "pull", "-q", cli_pushed.reference)
    listed = json.loads(pyreg(tmp_path / "fresh", "images", "--format", "json").stdout)
    assert [(entry["Repository"], entry["Digest"]) for entry in listed] == \
        [(cli_pushed.reference.rsplit(":", 1)[0], cli_pushed.digest)]


@pytest.mark.skipif(os.geteuid() != 0, reason="pyreg run needs root (no rootless mode yet)")
def test_pull_then_run_prints_hi(cli_pushed, tmp_path):
    root = tmp_path / "runner"
    pyreg(root, "pull", "-q", cli_pushed.reference)
    result = pyreg(root, "run", "--rm", cli_pushed.reference, "echo", "hi")
    assert result.stdout == "hi\n"
    leftover = pyreg(root, "ps", "-a", "-q").stdout.split()
    assert leftover == [], "--rm left a container behind"


def test_pyreg_pulls_an_image_skopeo_pushed(registry, image, tmp_path):
    """pyreg's client against pyreg's registry, with bytes another client wrote."""
    from tests.e2e.peers import Skopeo
    skopeo = Skopeo(tmp_path / "skopeo")
    digest = skopeo.copy_to_registry(image.layout_source, f"{registry.host}/e2e/from-skopeo:1")
    assert digest == str(image.layout_digest)
    pyreg(tmp_path / "store", "pull", "-q", f"{registry.host}/e2e/from-skopeo:1")
    listed = json.loads(pyreg(tmp_path / "store", "images", "--format", "json").stdout)
    assert [entry["Digest"] for entry in listed] == [digest]


CLI_FAILURES = {  # the arguments, and what the one line must say
    "missing-tag": (["pull", "{host}/e2e/cli:no-such-tag"],
                    "manifest unknown: {host}/e2e/cli:no-such-tag not found"),
    "missing-repository": (["pull", "{host}/e2e/never-pushed:1"],
                           "manifest unknown: {host}/e2e/never-pushed:1 not found"),
    "bad-reference": (["pull", "{host}/UPPER//case:1"], "bad repository name 'UPPER//case'"),
    "bad-digest": (["pull", "{host}/e2e/cli@sha256:short"], "invalid digest"),
    "nothing-listening": (["pull", "127.0.0.1:1/e2e/cli:1"],
                          "cannot reach 127.0.0.1:1: connection refused"),
    "push-unknown-local-image": (["push", "localhost/not/here:1", "{host}/e2e/x:1"],
                                 "image 'localhost/not/here:1' not found in the local store"),
    "inspect-remote-missing": (["inspect", "--remote", "{host}/e2e/cli:nope"],
                               "manifest unknown: {host}/e2e/cli:nope not found"),
    "delete-missing": (["delete", "{host}/e2e/cli@sha256:" + "0" * 64], "MANIFEST_UNKNOWN"),
}


@pytest.mark.parametrize("args, says", CLI_FAILURES.values(), ids=CLI_FAILURES.keys())
def test_failures_are_one_readable_line(args, says, registry, tmp_path):
    result = pyreg(tmp_path / "store", *[a.format(host=registry.host) for a in args], check=False,
                   timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyreg: "), result.stderr
    assert says.format(host=registry.host) in lines[0]
