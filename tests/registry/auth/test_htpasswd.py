"""htpasswd files as Debian's `htpasswd -B` (apache2-utils) writes them."""
import logging
import os
import subprocess

import pytest

from registry.auth.htpasswd import HtpasswdFile
from registry.auth.watched import WatchedFileError
from tests.support.processes import require_binary


def add_user(path, user, password, *flags):
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-b", *flags, str(path), user, password], check=True,
                   capture_output=True)


def test_bcrypt_entries_written_by_htpasswd_verify(tmp_path):
    path = tmp_path / "htpasswd"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "alice", "s3cret pass"], check=True)
    add_user(path, "bob", "pw-of-bob", "-B", "-C", "6")
    assert path.read_text().startswith("alice:$2y$05$")
    file = HtpasswdFile(str(path))
    assert file.users() == ["alice", "bob"]
    assert file.verify("alice", "s3cret pass")
    assert file.verify("bob", "pw-of-bob")
    assert not file.verify("alice", "s3cret pas")
    assert not file.verify("alice", "pw-of-bob")
    assert not file.verify("nobody", "s3cret pass")
    assert not file.verify("alice", "s3cret\x00pass")


def test_other_hash_kinds_are_refused_with_a_log_line(tmp_path, caplog):
    path = tmp_path / "htpasswd"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "good", "pw"], check=True)
    for user, flag in (("md5user", "-m"), ("shauser", "-s"), ("cryptuser", "-2")):
        add_user(path, user, "pw", flag)
    with path.open("a") as handle:
        handle.write("plainuser:pw\n# a comment\n\nno-colon-line\n")
    with caplog.at_level(logging.WARNING, logger="pyreg.auth"):
        file = HtpasswdFile(str(path))
    assert file.users() == ["good"]
    assert file.verify("good", "pw")
    assert not file.verify("md5user", "pw") and not file.verify("plainuser", "pw")
    text = caplog.text
    for user, kind in (("md5user", "MD5"), ("shauser", "SHA-1"), ("cryptuser", "crypt"),
                       ("plainuser", "plain text")):
        assert f"user '{user}' has a {kind}" in text
    assert "only bcrypt entries (htpasswd -B)" in text
    assert "line 8: not a user:hash entry" in text


def test_file_is_re_read_when_it_changes(tmp_path):
    path = tmp_path / "htpasswd"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "alice", "one"], check=True)
    file = HtpasswdFile(str(path))
    before = file.generation
    assert file.verify("alice", "one")
    add_user(path, "carol", "three", "-B", "-C", "5")       # in place, as htpasswd edits
    assert file.verify("carol", "three") and file.generation != before
    subprocess.run([binary, "-bB", "-C", "5", str(path), "alice", "two"], check=True)
    assert file.verify("alice", "two") and not file.verify("alice", "one")
    subprocess.run([binary, "-D", str(path), "carol"], check=True, capture_output=True)
    assert not file.verify("carol", "three")
    replacement = tmp_path / "new"                          # an editor's rename
    subprocess.run([binary, "-cbB", "-C", "5", str(replacement), "dave", "four"], check=True)
    os.replace(replacement, path)
    assert file.users() == ["dave"]


def test_a_vanished_file_fails_closed_and_comes_back(tmp_path, caplog):
    path = tmp_path / "htpasswd"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "alice", "pw"], check=True)
    file = HtpasswdFile(str(path))
    content = path.read_bytes()
    path.unlink()
    with caplog.at_level(logging.WARNING, logger="pyreg.auth"):
        assert not file.verify("alice", "pw")
        assert not file.verify("alice", "pw")
    assert caplog.text.count("cannot read htpasswd file") == 1
    path.write_bytes(content)
    assert file.verify("alice", "pw")


def test_a_missing_file_is_a_start_up_error(tmp_path):
    with pytest.raises(WatchedFileError, match="cannot read htpasswd file .*nope"):
        HtpasswdFile(str(tmp_path / "nope"))


def test_unknown_users_cost_as_much_as_the_costliest_entry(tmp_path):
    """No timing assertion: the dummy hash an unknown user is checked
    against carries the file's highest bcrypt cost."""
    path = tmp_path / "htpasswd"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "a", "pw"], check=True)
    add_user(path, "b", "pw", "-B", "-C", "7")
    file = HtpasswdFile(str(path))
    assert not file.verify("stranger", "pw")
    assert file._dummy[1].startswith(b"$2b$07$")


def test_passwords_longer_than_bcrypt_reads_match_as_htpasswd_cut_them(tmp_path):
    path = tmp_path / "htpasswd"
    long_password = "p" * 72 + "tail"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "alice", long_password], check=True)
    file = HtpasswdFile(str(path))
    assert file.verify("alice", long_password)
    assert not file.verify("alice", "p" * 71)
