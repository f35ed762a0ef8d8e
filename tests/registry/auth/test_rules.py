"""The built-in issuer's access-rules file."""
import os

import pytest

from registry.auth.rules import RulesFile, parse_rules
from registry.auth.scopes import CATALOG, repository
from registry.auth.watched import WatchedFileError

from .apps import RULES



def test_users_groups_anonymous_and_catalog():
    rules = parse_rules(RULES)
    alice, carol, nobody, admin = (rules.grant_for(u) for u in ("alice", "carol", None, "admin"))
    assert alice.allows(repository("team-a/app", "pull", "push"))
    assert alice.allows(repository("team-a/deep/app", "pull"))
    assert not alice.allows(repository("team-a/app", "delete"))
    assert not alice.allows(repository("team-b/app", "pull"))
    assert alice.allows(repository("public/base", "pull")) and alice.allows(CATALOG)
    assert carol.allows(repository("public/base", "pull")) and carol.allows(CATALOG)
    assert not carol.allows(repository("team-a/app", "pull"))
    assert nobody.allows(repository("public/base", "pull"))
    assert not nobody.allows(repository("public/base", "push")) and not nobody.allows(CATALOG)
    assert admin.allows(repository("team-b/x", "delete"))
    asked = [repository("team-a/app", "pull", "push", "delete"), repository("public/x", "push"),
             CATALOG]
    assert [str(s) for s in alice.granted(asked)] == ["repository:team-a/app:pull,push",
                                                      "registry:catalog:*"]


@pytest.mark.parametrize("text,message", [
    ("rules: [{repositores: ['*'], actions: [pull]}]", "unknown key 'repositores'"),
    ("rules: [{repositories: ['*'], actions: [fly]}]", "actions must list"),
    ("rules: [{repositories: ['*']}]", "actions must list"),
    ("rules: [{repositories: ['*'], groups: [ghosts], actions: [pull]}]", "undefined group 'ghosts'"),
    ("rules: [{users: [a], actions: [pull]}]", "names no repositories"),
    ("rules: [{repositories: '*', actions: [pull]}]", "must be a list of strings"),
    ("rules: [{repositories: ['*'], anonymous: 'yes', actions: [pull]}]", "anonymous must be"),
    ("grups: {}", "want a mapping"),
    ("rules: [oops", "not valid YAML"),
])
def test_mistakes_are_errors_not_silent_access(text, message):
    with pytest.raises(ValueError, match=message):
        parse_rules(text)


def test_the_file_is_re_read_and_a_broken_edit_grants_nothing(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    rules = RulesFile(str(path))
    assert rules.current().grant_for("alice").may_pull("team-a/app")
    path.write_text("rules: [{repositories: ['team-a/*'], users: [carol], actions: [pull]}]\n")
    os.utime(path, ns=(1, 1))  # a different mtime, even within the same clock tick
    assert not rules.current().grant_for("alice").may_pull("team-a/app")
    assert rules.current().grant_for("carol").may_pull("team-a/app")
    path.write_text("rules: [{bad: key}]\n")
    assert not rules.current().grant_for("carol").may_pull("team-a/app")


def test_a_broken_file_stops_start_up(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text("rules: [{repositories: ['*'], actions: [fly]}]")
    with pytest.raises(WatchedFileError, match="rules.yml: rule 1.actions"):
        RulesFile(str(path))
