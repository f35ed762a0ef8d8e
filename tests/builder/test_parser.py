"""The Dockerfile parser against the examples of docker's Dockerfile reference."""
import pytest

from builder import instructions as ins
from builder.errors import BuildError
from builder.parser import parse_dockerfile, parse_trigger


def only_stage(text):
    dockerfile = parse_dockerfile(text)
    assert len(dockerfile.stages) == 1
    return dockerfile.stages[0]


def body(text):
    return only_stage("FROM busybox\n" + text).instructions


@pytest.mark.parametrize("directives", [
    "#escape=`", "# escape =`", "#\tescape= `", "# escape = `", "#\t  eScApE=`",
])
def test_directive_whitespace_and_case_are_free(directives):
    dockerfile = parse_dockerfile(f"{directives}\nFROM busybox\nCOPY testfile.txt c:\\\nRUN dir c:\\\n")
    assert dockerfile.escape == "`"
    copy, run = dockerfile.stages[0].instructions
    assert (copy.sources, copy.dest) == (("testfile.txt",), "c:\\")
    assert run.command == ins.Command(("dir c:\\",), False)


def test_without_the_escape_directive_a_trailing_backslash_continues_the_line():
    # the reference's example: COPY swallows the RUN line
    (copy,) = body("COPY testfile.txt c:\\\nRUN dir c:\\\n")
    assert (copy.sources, copy.dest) == (("testfile.txt", "c:RUN", "dir"), "c:")


def test_backtick_continues_lines_when_it_is_the_escape():
    (run,) = parse_dockerfile("# escape=`\nFROM x\nRUN a `\n  b\n").stages[0].instructions
    assert run.command.args == ("a   b",)


@pytest.mark.parametrize("text", [
    "# About my dockerfile\n# escape=`\nFROM x\nRUN a `\n",       # a comment ends the directives
    "# unknowndirective=value\n# escape=`\nFROM x\nRUN a `\n",    # so does an unknown directive
    "\n# escape=`\nFROM x\nRUN a `\n",                            # and a blank line
    "FROM x\n# escape=`\nRUN a `\n",                              # and an instruction
])
def test_directives_count_only_at_the_top(text):
    dockerfile = parse_dockerfile(text)
    assert dockerfile.escape == "\\"
    assert dockerfile.stages[0].instructions[0].command.args == ("a `",)


def test_syntax_and_check_directives_are_accepted_and_ignored():
    dockerfile = parse_dockerfile("# syntax=docker/dockerfile:1\n# check=skip=all\nFROM x\n")
    assert dockerfile.stages[0].base.image == "x"


@pytest.mark.parametrize("text, message", [
    ("# escape=\\\n# escape=`\nFROM x\n", "Dockerfile:2: only one escape parser directive can be used"),
    ("# escape=x\nFROM x\n", "Dockerfile:1: invalid escape token 'x'"),
])
def test_bad_directives(text, message):
    with pytest.raises(BuildError, match="^" + message.replace("\\", "\\\\")):
        parse_dockerfile(text)


def test_comment_lines_and_empty_lines_inside_a_continuation_are_dropped():
    (run,) = body("RUN echo hello \\\n# comment\n\n  world\n")
    assert run.command.args == ("echo hello   world",)
    assert (run.location.start, run.location.end) == (2, 5)


def test_a_hash_after_an_instruction_is_not_a_comment_and_crlf_is_a_newline():
    (run, env) = body("RUN echo 1 # not a comment\r\n   ENV A=1\r\n")
    assert run.command.args == ("echo 1 # not a comment",)
    assert env.pairs == (("A", "1"),)


def test_a_byte_order_mark_is_ignored():
    assert parse_dockerfile("\ufeffFROM x\n").stages[0].base.image == "x"


@pytest.mark.parametrize("line, expected", [
    ('RUN ["echo", "a b"]', ins.Command(("echo", "a b"), True)),
    ("RUN echo $HOME", ins.Command(("echo $HOME",), False)),
    # invalid JSON falls back to the shell form (the reference's tasklist example)
    ('RUN ["c:\\windows\\system32\\tasklist.exe"]', ins.Command(('["c:\\windows\\system32\\tasklist.exe"]',), False)),
    ("CMD [not, json]", ins.Command(("[not, json]",), False)),
    ("CMD []", ins.Command((), True)),
    ('ENTRYPOINT ["top", "-b"]', ins.Command(("top", "-b"), True)),
])
def test_exec_and_shell_forms(line, expected):
    (instruction,) = body(line)
    assert instruction.command == expected


def test_a_json_array_of_non_strings_is_an_error():
    with pytest.raises(BuildError, match=r"^Dockerfile:2: CMD: when using JSON array syntax, arrays must be"):
        body('CMD ["a", 1]')


def test_from_with_platform_and_a_stage_name():
    dockerfile = parse_dockerfile("FROM --platform=linux/arm64 busybox:1.36 AS Build\nFROM build\n")
    first, second = dockerfile.stages
    assert (first.base.image, first.base.stage_name, first.base.platform) == ("busybox:1.36", "build", "linux/arm64")
    assert (first.index, first.name, second.name, second.label) == (0, "build", "", "1")


def test_env_and_label_both_forms_keep_quotes_for_substitution():
    env, old, label, multi, description = body(
        'ENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog \\\n    MY_CAT=fluffy\n'
        "ENV MY_VAR my-value with  spaces\n"
        'LABEL "com.example.vendor"="ACME Incorporated"\n'
        'LABEL multi.label1="value1" multi.label2="value2" other="value3"\n'
        'LABEL description="This text illustrates \\\nthat label-values can span multiple lines."\n')
    assert env.pairs == (("MY_NAME", '"John Doe"'), ("MY_DOG", "Rex\\ The\\ Dog"), ("MY_CAT", "fluffy"))
    assert old.pairs == (("MY_VAR", "my-value with  spaces"),)
    assert label.pairs == (('"com.example.vendor"', '"ACME Incorporated"'),)
    assert [key for key, _ in multi.pairs] == ["multi.label1", "multi.label2", "other"]
    assert description.pairs == (("description", '"This text illustrates that label-values can span multiple lines."'),)


def test_arg_with_and_without_defaults():
    (arg,) = body('ARG user1=someuser buildno=1 plain "q=a b"')
    assert arg.pairs == (("user1", "someuser"), ("buildno", "1"), ("plain", None), ('"q', 'a b"'))


def test_copy_add_flags_and_forms():
    copy, add, json_copy = body(
        "COPY --from=build --chown=55:mygroup --chmod=644 --link a b /dst/\n"
        "ADD --chown=bin files* /somedir/\n"
        'COPY ["a file", "/dst dir/"]\n')
    assert (copy.from_, copy.chown, copy.chmod, copy.link) == ("build", "55:mygroup", "644", True)
    assert (copy.sources, copy.dest) == (("a", "b"), "/dst/")
    assert isinstance(add, ins.Add) and add.keyword == "ADD" and add.chown == "bin"
    assert (json_copy.sources, json_copy.dest) == (("a file",), "/dst dir/")


def test_run_flags_docker_accepts():
    run, none = body("RUN --network=host --security=sandbox make\nRUN --network=none true\n")
    assert (run.network, run.security, none.network) == ("host", "sandbox", "none")


def test_healthcheck_options_and_none():
    check, none, exec_form = body(
        "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 "
        "CMD curl -f http://localhost/ || exit 1\n"
        "HEALTHCHECK NONE\n"
        'HEALTHCHECK CMD ["/bin/check", "-q"]\n')
    assert check.test == ("CMD-SHELL", "curl -f http://localhost/ || exit 1")
    assert (check.interval, check.timeout) == (300 * 10**9, 3 * 10**9)
    assert (check.start_period, check.start_interval, check.retries) == (90 * 10**9, 5 * 10**8, 3)
    assert none.test == ("NONE",)
    assert exec_form.test == ("CMD", "/bin/check", "-q")


def test_the_other_instructions():
    expose, volume, volumes, user, workdir, signal, shell, maintainer = body(
        "EXPOSE 80/udp 443\nVOLUME [\"/data\"]\nVOLUME /var/log /var/db\nUSER patrick:staff\n"
        "WORKDIR /path/to/workdir\nSTOPSIGNAL SIGKILL\nSHELL [\"powershell\", \"-command\"]\n"
        "MAINTAINER Jane <jane@example.com>\n")
    assert expose.ports == ("80/udp", "443")
    assert volume.paths == ("/data",) and volumes.paths == ("/var/log", "/var/db")
    assert (user.value, workdir.value, signal.value) == ("patrick:staff", "/path/to/workdir", "SIGKILL")
    assert shell.args == ("powershell", "-command")
    assert maintainer.value == "Jane <jane@example.com>"


def test_onbuild_records_the_expression_and_parses_the_trigger():
    add, run = body("ONBUILD ADD . /app/src\nonbuild RUN /usr/local/bin/python-build --dir /app/src\n")
    assert add.expression == "ADD . /app/src"
    assert isinstance(add.trigger, ins.Add) and add.trigger.dest == "/app/src"
    assert run.expression == "RUN /usr/local/bin/python-build --dir /app/src"
    assert parse_trigger(add.expression, "base").sources == (".",)


def test_instructions_are_case_insensitive_and_meta_args_precede_from():
    dockerfile = parse_dockerfile("ARG  CODE_VERSION=latest\nfrom base:${CODE_VERSION}\ncmd  /code/run-app\n")
    assert dockerfile.meta_args[0].pairs == (("CODE_VERSION", "latest"),)
    assert dockerfile.stages[0].base.image == "base:${CODE_VERSION}"


@pytest.mark.parametrize("text, message", [
    ("", "Dockerfile: the file has no instructions"),
    ("# only a comment\n", "Dockerfile: the file has no instructions"),
    ("ARG A=1\n", "Dockerfile: no FROM instruction"),
    ("RUN true\nFROM x\n", "Dockerfile:1: RUN: no build stage in current context"),
    ("FROM x\nFOO bar\n", "Dockerfile:2: unknown instruction: FOO"),
    ("FROM x\n\nCOPY onlyone\n", "Dockerfile:3: COPY: COPY requires at least two arguments"),
    ("FROM x y\n", "Dockerfile:1: FROM: FROM requires either one or three arguments"),
    ("FROM x AS 1abc\n", "Dockerfile:1: FROM: invalid name for build stage: '1abc'"),
    ("FROM x AS scratch\n", "Dockerfile:1: FROM: 'scratch' is reserved"),
    ("FROM x AS a\nFROM y AS A\n", "Dockerfile:2: FROM: duplicate stage name 'a' \\(first on line 1\\)"),
    ("FROM x\nENV ONLYNAME\n", "Dockerfile:2: ENV: ENV must have two arguments"),
    ("FROM x\nENV A=1 B\n", "Dockerfile:2: ENV: syntax error - can't find = in 'B'"),
    ("FROM x\nLABEL =v\n", "Dockerfile:2: LABEL: LABEL names can not be blank"),
    ("FROM x\nRUN\n", "Dockerfile:2: RUN: RUN requires at least one argument"),
    ("FROM x\nRUN []\n", "Dockerfile:2: RUN: RUN requires at least one argument"),
    ("FROM x\nRUN --mount=type=cache,target=/c make\n", "Dockerfile:2: RUN: --mount is not supported"),
    ("FROM x\nRUN --network=bridge make\n", "Dockerfile:2: RUN: unsupported network mode 'bridge'"),
    ("FROM x\nRUN --security=insecure make\n", "Dockerfile:2: RUN: --security=insecure is not supported"),
    ("FROM x\nCOPY --bogus=1 a b\n", "Dockerfile:2: COPY: unknown flag: bogus"),
    ("FROM x\nCOPY --from=a --from=b a b\n", "Dockerfile:2: COPY: duplicate flag specified: from"),
    ("FROM x\nCOPY --from a b\n", "Dockerfile:2: COPY: missing a value on flag: from"),
    ("FROM x\nCOPY --link=maybe a b\n", "Dockerfile:2: COPY: expecting boolean value for flag link"),
    ("FROM x\nADD --checksum=sha256:0 a b\n", "Dockerfile:2: ADD: --checksum applies to URLs"),
    ("FROM x\nENV --x=1 A=1\n", "Dockerfile:2: ENV: unknown flag: x"),
    ("FROM x\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form"),
    ("FROM x\nSHELL []\n", "Dockerfile:2: SHELL: SHELL requires at least one argument"),
    ("FROM x\nUSER\n", "Dockerfile:2: USER: USER requires exactly one argument"),
    ("FROM x\nHEALTHCHECK NONE --x\n", "Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no arguments"),
    ("FROM x\nHEALTHCHECK PING x\n", "Dockerfile:2: HEALTHCHECK: unknown type 'PING' in HEALTHCHECK"),
    ("FROM x\nHEALTHCHECK CMD\n", "Dockerfile:2: HEALTHCHECK: missing command after HEALTHCHECK CMD"),
    ("FROM x\nHEALTHCHECK --interval=10 CMD true\n", "Dockerfile:2: HEALTHCHECK: --interval: invalid duration"),
    ("FROM x\nHEALTHCHECK --timeout=1us CMD true\n", "Dockerfile:2: HEALTHCHECK: --timeout cannot be less than 1ms"),
    ("FROM x\nHEALTHCHECK --retries=-1 CMD true\n", "Dockerfile:2: HEALTHCHECK: --retries cannot be negative"),
    ("FROM x\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: ONBUILD: chaining ONBUILD"),
    ("FROM x\nONBUILD FROM y\n", "Dockerfile:2: ONBUILD: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD BOGUS y\n", "Dockerfile:2: unknown instruction: BOGUS"),
])
def test_errors_name_the_file_line_and_instruction(text, message):
    with pytest.raises(BuildError, match="^" + message) as caught:
        parse_dockerfile(text)
    assert "\n" not in str(caught.value)


def test_the_file_name_is_in_the_message():
    with pytest.raises(BuildError, match="^app/Containerfile:1: unknown instruction: NOPE$"):
        parse_dockerfile("NOPE\n", "app/Containerfile")
