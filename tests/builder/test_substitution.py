"""Variable substitution (docker's shell lexer rules) and ARG/ENV scopes,
against the examples of docker's Dockerfile reference."""
import pytest

from builder.errors import BuildError
from builder.parser import parse_dockerfile
from builder.scope import StageScope, meta_scope, parse_build_args, platform_args
from builder.shellwords import SubstitutionError, process_word, process_words
from ocispec.descriptor import Platform

ENV = {"A": "a", "EMPTY": "", "SPACED": "x  y", "FOO": "/bar"}


@pytest.mark.parametrize("text, expected", [
    ("$A", "a"), ("${A}", "a"), ("pre${A}post", "preapost"), ("$A.b", "a.b"),
    ("'$A'", "$A"), ('"$A"', "a"), ("\\$A", "$A"), ("\\$FOO", "$FOO"),
    ("${A:-word}", "a"), ("${UNSET:-word}", "word"), ("${EMPTY:-word}", "word"),
    ("${A-word}", "a"), ("${UNSET-word}", "word"), ("${EMPTY-word}", ""),
    ("${A:+word}", "word"), ("${EMPTY:+word}", ""), ("${UNSET:+word}", ""),
    ("${A+word}", "word"), ("${EMPTY+word}", "word"), ("${UNSET+word}", ""),
    ("${UNSET:-$A/x}", "a/x"), ("${UNSET:-\"q q\"}", "q q"), ("${A:?}", "a"),
    ("$UNSET", ""), ("$", "$"), ("a$", "a$"), ("$1", ""),
    ("Rex\\ The\\ Dog", "Rex The Dog"), ('"John Doe"', "John Doe"),
    ('ab"c d"e', "abc de"), ('"a\\"b"', 'a"b'), ('"a\\nb"', "a\\nb"), ("'a\\b'", "a\\b"),
    ("x  y", "x  y"), ('"$SPACED"', "x  y"), ("$(not run)", "$(not run)"),
])
def test_process_word(text, expected):
    assert process_word(text, ENV) == expected


def test_process_words_splits_only_substituted_and_plain_whitespace():
    assert process_words('$SPACED "$SPACED" 80 \'a b\'', ENV) == ["x", "y", "x  y", "80", "a b"]


def test_the_backtick_escape():
    assert process_word("c:`$A`\\", ENV, escape="`") == "c:$A\\"


@pytest.mark.parametrize("text, message", [
    ("${A", "unterminated \\${A: missing '}'"), ("${", "unterminated"), ("${UNSET:-x", "unterminated"),
    ("${}", "bad substitution"), ("${:a}", "bad substitution"),
    ("${A:%x}", "unsupported modifier"), ("${A*x}", "unsupported modifier"),
    ('"open', "matching double-quote"), ("'open", "matching single-quote"),
    ("${UNSET:?must be set}", "UNSET: must be set"), ("${EMPTY:?}", "EMPTY: is not allowed to be unset or empty"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"),
])
def test_substitution_errors(text, message):
    with pytest.raises(SubstitutionError, match=message):
        process_word(text, ENV)


def stage_scope(text, build_args=None, image_env=()):
    dockerfile = parse_dockerfile(text)
    automatic = platform_args(Platform("linux", "amd64"), Platform("linux", "amd64"))
    meta = meta_scope(dockerfile.meta_args, build_args or {}, automatic)
    scope = StageScope(image_env, meta, build_args or {}, automatic)
    applied = []
    for instruction in dockerfile.stages[-1].instructions:
        instruction = scope.substitute(instruction)
        scope.apply(instruction)
        applied.append(instruction)
    return scope, applied


def test_the_reference_substitution_example():
    _, (env, workdir, add, copy) = stage_scope(
        "FROM busybox\nENV FOO=/bar\nWORKDIR ${FOO}\nADD . $FOO\nCOPY \\$FOO /quux\n")
    assert workdir.value == "/bar"
    assert (add.sources, add.dest) == ((".",), "/bar")
    assert (copy.sources, copy.dest) == (("$FOO",), "/quux")


def test_one_env_sees_the_values_from_before_it():
    scope, _ = stage_scope("FROM x\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n")
    assert (scope.env["def"], scope.env["ghi"]) == ("hello", "bye")


def test_env_and_label_values_lose_their_quotes():
    scope, (_, label) = stage_scope(
        'FROM x\nENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy\n'
        'LABEL "com.example.vendor"="ACME Incorporated" version="1.0"\n')
    assert scope.env == {"MY_NAME": "John Doe", "MY_DOG": "Rex The Dog", "MY_CAT": "fluffy"}
    assert label.pairs == (("com.example.vendor", "ACME Incorporated"), ("version", "1.0"))


def test_an_arg_is_visible_only_after_its_declaration():
    text = "FROM busybox\nUSER ${username:-some_user}\nARG username\nUSER $username\n"
    _, (first, _, second) = stage_scope(text, {"username": "what_user"})
    assert (first.value, second.value) == ("some_user", "what_user")


def test_env_overrides_arg():
    text = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\n"
    scope, _ = stage_scope(text, {"CONT_IMG_VER": "v2.0.1"})
    assert scope.lookup("CONT_IMG_VER") == "v1.0.0"
    assert scope.visible_args() == {}
    assert "CONT_IMG_VER=v1.0.0" in scope.run_environment()


@pytest.mark.parametrize("build_args, expected", [({"CONT_IMG_VER": "v2.0.1"}, "v2.0.1"), ({}, "v1.0.0")])
def test_env_from_an_arg_with_a_default(build_args, expected):
    scope, _ = stage_scope("FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n",
                           build_args)
    assert scope.env["CONT_IMG_VER"] == expected


def test_meta_args_reach_a_stage_only_when_declared_again():
    text = "ARG VERSION=latest\nARG SUFFIX=-${VERSION}\nFROM busybox:$VERSION\nENV BEFORE=$VERSION\nARG VERSION\nENV AFTER=$VERSION\n"
    dockerfile = parse_dockerfile(text)
    meta = meta_scope(dockerfile.meta_args, {}, {})
    assert meta == {"VERSION": "latest", "SUFFIX": "-latest"}
    scope, _ = stage_scope(text)
    assert scope.env == {"BEFORE": "", "AFTER": "latest"}
    assert scope.visible_args() == {"VERSION": "latest"}


def test_build_args_override_defaults_and_are_literal():
    scope, _ = stage_scope("FROM x\nARG A=default B=$A\n", {"A": "$literal"})
    assert scope.args == {"A": "$literal", "B": ""}   # B saw A before this ARG declared it


def test_undeclared_build_args_are_invisible_but_proxies_reach_run():
    scope, _ = stage_scope("FROM x\nENV E=$SECRET\n", {"SECRET": "s", "HTTP_PROXY": "http://p:3128"})
    assert scope.env["E"] == ""
    assert scope.run_environment() == ["E=", "HTTP_PROXY=http://p:3128"]
    assert scope.visible_args() == {}


def test_platform_args_are_global_and_declared_in_stages():
    scope, _ = stage_scope("FROM x\nARG TARGETARCH\nENV ARCH=$TARGETARCH OS=$TARGETOS\n")
    assert scope.env == {"ARCH": "amd64", "OS": ""}


def test_image_env_is_in_scope_and_expose_splits_substituted_words():
    scope, (expose,) = stage_scope("FROM x\nEXPOSE $PORTS \"$ONE\"\n", image_env=["PORTS=80 443/udp", "ONE=8080"])
    assert expose.ports == ("80", "443/udp", "8080")


@pytest.mark.parametrize("line", ["RUN echo $A", "CMD echo $A", "ENTRYPOINT echo $A", "HEALTHCHECK CMD echo $A",
                                  'SHELL ["$A"]', "ONBUILD COPY $A /b", "MAINTAINER $A"])
def test_instructions_docker_does_not_substitute(line):
    _, (_, instruction) = stage_scope(f"FROM x\nENV A=1\n{line}\n")
    assert "$A" in instruction.original and instruction == parse_dockerfile(f"FROM x\n{line}\n").stages[0].instructions[0]


def test_copy_chown_and_chmod_are_substituted():
    _, (_, copy) = stage_scope("FROM x\nARG U=7 M=0644\nCOPY --chown=$U:$U --chmod=$M src /dst\n")
    assert (copy.chown, copy.chmod) == ("7:7", "0644")


@pytest.mark.parametrize("text, message", [
    ("FROM x\nWORKDIR ${A\n", "^Dockerfile:2: WORKDIR: failed to process '\\${A': syntax error: unterminated"),
    ("FROM x\nVOLUME $EMPTY\n", "^Dockerfile:2: VOLUME: VOLUME specified can not be an empty string"),
    ("FROM x\nENV $EMPTY=1\n", "^Dockerfile:2: ENV: ENV names can not be blank"),
    ("ARG A=${\nFROM x\n", "^Dockerfile:1: ARG: failed to process"),
])
def test_substitution_errors_are_located(text, message):
    with pytest.raises(BuildError, match=message):
        stage_scope(text)


def test_build_args_from_the_command_line():
    values = parse_build_args(["A=1", "B=", "FROM_ENV", "MISSING", "C=x=y"], {"FROM_ENV": "e"})
    assert values == {"A": "1", "B": "", "FROM_ENV": "e", "C": "x=y"}
    with pytest.raises(BuildError, match="name is empty"):
        parse_build_args(["=1"], {})
