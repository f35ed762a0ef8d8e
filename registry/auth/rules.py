"""The built-in token issuer's access rules: a YAML file granting users and
groups actions on repository name patterns.

    groups:
      team-a: [alice, bob]
    rules:
      - repositories: ["team-a/*"]     # `*` is any run of characters, '/' included
        groups: [team-a]
        actions: [pull, push]
      - repositories: ["public/*"]
        anonymous: true                # everyone, signed in or not
        actions: [pull]
      - repositories: ["*"]
        users: [admin]
        actions: ["*"]                 # pull, push and delete
      - catalog: true                  # registry:catalog:*
        users: ["*"]                   # every signed-in user

A caller gets the union of the rules that name it; the issuer then grants
the part of the asked scopes those rules cover. Robots do not go through
these rules: their own scopes are their grant. Unknown keys, undefined
groups and unknown actions are errors, so a typo cannot widen or silently
drop access. The file is re-read when it changes (watched.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from .grants import Grant, NamePattern, PatternScope
from .scopes import ALL, DELETE, PULL, PUSH, REGISTRY, REPOSITORY
from .watched import WatchedFile

_ACTIONS = {PULL, PUSH, DELETE, ALL}
_RULE_KEYS = {"repositories", "catalog", "users", "groups", "anonymous", "actions"}
EVERY_USER = "*"


@dataclass(frozen=True)
class Rule:
    patterns: tuple[NamePattern, ...]
    catalog: bool
    users: frozenset[str]
    groups: frozenset[str]
    anonymous: bool
    actions: frozenset[str]

    def applies_to(self, subject: str | None, member_of: frozenset[str]) -> bool:
        if self.anonymous:
            return True
        if subject is None:
            return False
        return EVERY_USER in self.users or subject in self.users or bool(self.groups & member_of)


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where} must be a list of strings")
    return value


def _rule(entry, number: int, groups: dict[str, frozenset[str]]) -> Rule:
    where = f"rule {number}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} is not a mapping")
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    patterns = _strings(entry.get("repositories"), f"{where}.repositories")
    catalog = entry.get("catalog", False) is True
    if not patterns and not catalog:
        raise ValueError(f"{where} names no repositories and no catalog")
    actions = set(_strings(entry.get("actions"), f"{where}.actions")) or ({ALL} if catalog else set())
    if not actions or not actions <= _ACTIONS:
        raise ValueError(f"{where}.actions must list pull, push, delete or *")
    named_groups = set(_strings(entry.get("groups"), f"{where}.groups"))
    if named_groups - set(groups):
        raise ValueError(f"{where}: undefined group {sorted(named_groups - set(groups))[0]!r}")
    anonymous = entry.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise ValueError(f"{where}.anonymous must be true or false")
    return Rule(tuple(NamePattern.compile(p) for p in patterns), catalog,
                frozenset(_strings(entry.get("users"), f"{where}.users")),
                frozenset(named_groups), anonymous, frozenset(actions))


class AccessRules:
    def __init__(self, rules: list[Rule], groups: dict[str, frozenset[str]]):
        self.rules = rules
        self.groups = groups

    def member_of(self, subject: str | None) -> frozenset[str]:
        return frozenset(g for g, members in self.groups.items() if subject in members)

    def grant_for(self, subject: str | None) -> Grant:
        """Everything the rules allow this user (None: anonymous)."""
        member_of = self.member_of(subject)
        scopes = []
        for rule in self.rules:
            if rule.applies_to(subject, member_of):
                scopes += [PatternScope(REPOSITORY, p, rule.actions) for p in rule.patterns]
                if rule.catalog:
                    scopes.append(PatternScope(REGISTRY, NamePattern.compile("catalog"),
                                               frozenset({ALL})))
        return Grant(subject, {}, tuple(scopes))


NO_RULES = AccessRules([], {})


def parse_rules(text: str) -> AccessRules:
    import yaml
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(document, dict) or set(document) - {"groups", "rules"}:
        raise ValueError("want a mapping with `groups` and `rules`")
    raw_groups = document.get("groups") or {}
    if not isinstance(raw_groups, dict):
        raise ValueError("groups must map group names to lists of users")
    groups = {str(name): frozenset(_strings(members, f"group {name}"))
              for name, members in raw_groups.items()}
    entries = document.get("rules") or []
    if not isinstance(entries, list):
        raise ValueError("rules must be a list")
    return AccessRules([_rule(entry, n, groups) for n, entry in enumerate(entries, 1)], groups)


class RulesFile:
    """The rules file, re-read when it changes; a broken file grants nothing."""

    def __init__(self, path: str):
        self._file = WatchedFile(path, "access rules file", parse_rules, NO_RULES)

    def current(self) -> AccessRules:
        return self._file.current().value
