"""containerd's `ctr` against pyreg over plain HTTP: pull what `pyreg push`
wrote (same digest, unpacked into a snapshot), and push it back under a
new name."""
from __future__ import annotations


def _listed_digest(ctr, reference: str) -> str | None:
    for line in ctr("images", "ls").stdout.splitlines()[1:]:
        columns = line.split()
        if columns and columns[0] == reference:
            return columns[2]
    return None


def test_pull_keeps_the_digest_pyreg_push_reported(ctr, cli_pushed):
    output = ctr("images", "pull", "--plain-http", cli_pushed.reference).stdout
    assert "unpacking linux/amd64" in output
    assert _listed_digest(ctr, cli_pushed.reference) == cli_pushed.digest
    ctr("images", "check", f"name=={cli_pushed.reference}")


def test_push_back_under_another_name(ctr, cli_pushed, registry):
    ctr("images", "pull", "--plain-http", cli_pushed.reference)
    target = f"{registry.host}/e2e/from-ctr:1"
    ctr("images", "tag", "--force", cli_pushed.reference, target)
    ctr("images", "push", "--plain-http", target)
    assert registry.manifest_digest("e2e/from-ctr", "1") == cli_pushed.digest
