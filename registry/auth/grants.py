"""What an authenticated caller may do.

A `Grant` holds exact resources (a token's `access` claim: one dict lookup
per request) and name patterns (a robot's `repository:team/*:pull,push`, or
everything for an htpasswd user, as Distribution lets any authenticated user
do anything). The action `*` stands for every action.

Patterns use `*` for any run of characters, '/' included: `team/*` covers
`team/app` and `team/sub/app`, and `*` covers every repository.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .scopes import ALL, PULL, REGISTRY, REPOSITORY, Requirement, Scope


@dataclass(frozen=True, slots=True)
class NamePattern:
    text: str
    regex: re.Pattern = field(compare=False, repr=False)

    @classmethod
    def compile(cls, text: str) -> NamePattern:
        parts = (re.escape(part) for part in text.split("*"))
        return cls(text, re.compile(".*".join(parts)))

    def matches(self, name: str) -> bool:
        return self.regex.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class PatternScope:
    """Actions on every resource of a type whose name matches a pattern."""
    type: str
    pattern: NamePattern
    actions: frozenset[str]

    @classmethod
    def of(cls, scope: Scope) -> PatternScope:
        return cls(scope.type, NamePattern.compile(scope.name), frozenset(scope.actions))

    def __str__(self) -> str:
        return f"{self.type}:{self.pattern.text}:{','.join(sorted(self.actions))}"


@dataclass(frozen=True)
class Grant:
    subject: str | None  # None: anonymous
    exact: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    patterns: tuple[PatternScope, ...] = ()
    # Patterns the caller may list in the catalog without holding an exact
    # pull on each name (the built-in issuer signs them into its tokens).
    listable: tuple[NamePattern, ...] = ()

    def may(self, type_: str, name: str, action: str) -> bool:
        actions = self.exact.get((type_, name))
        if actions is not None and (action in actions or ALL in actions):
            return True
        return any(p.type == type_ and (action in p.actions or ALL in p.actions)
                   and p.pattern.matches(name) for p in self.patterns)

    def allows(self, scope: Scope) -> bool:
        return all(self.may(scope.type, scope.name, action) for action in scope.actions)

    def missing(self, requirement: Requirement) -> tuple[Scope, ...]:
        return tuple(scope for scope in requirement.scopes if not self.allows(scope))

    def may_pull(self, name: str) -> bool:
        return self.may(REPOSITORY, name, PULL)

    def may_list(self, name: str) -> bool:
        """Whether `_catalog` shows this repository to the caller."""
        return self.may_pull(name) or any(p.matches(name) for p in self.listable)

    def granted(self, asked: Iterable[Scope]) -> list[Scope]:
        """The part of each asked scope this grant covers (an issuer's answer)."""
        result = []
        for wanted in asked:
            actions = [a for a in wanted.actions if self.may(wanted.type, wanted.name, a)]
            if actions:
                result.append(wanted.narrowed(actions))
        return result


def exact_grant(subject: str | None, scopes: Iterable[Scope],
                listable: Iterable[str] = ()) -> Grant:
    exact: dict[tuple[str, str], frozenset[str]] = {}
    for item in scopes:
        exact[item.resource] = exact.get(item.resource, frozenset()) | frozenset(item.actions)
    return Grant(subject, exact, (), tuple(NamePattern.compile(p) for p in listable))


def pattern_grant(subject: str | None, scopes: Iterable[Scope]) -> Grant:
    return Grant(subject, {}, tuple(PatternScope.of(item) for item in scopes))


_EVERYTHING = (PatternScope(REPOSITORY, NamePattern.compile("*"), frozenset({ALL})),
               PatternScope(REGISTRY, NamePattern.compile("*"), frozenset({ALL})))


def full_grant(subject: str) -> Grant:
    return Grant(subject, {}, _EVERYTHING)
