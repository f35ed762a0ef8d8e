"""`pyreg run`'s one parser (pyreg_cli/run_args.py), held against argparse
reading the same option declarations: every command line gives the same
values, or an error in both."""
import argparse
import random
import subprocess
import sys

import pytest

from pyreg_cli import main as cli
from pyreg_cli.containers import cmd_bundle, cmd_run, parse_verb
from pyreg_cli.run_args import (BUNDLE_PARSER, RUN_ONLY_OPTIONS, RUN_OPTIONS, RUN_PARSER,
                                UsageError)

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent
ARGVS = [
    ["run", "busybox"],
    ["run", "--rm", "busybox", "true"],
    ["--root", "/srv/pyreg", "--debug", "run", "-it", "--rm", "busybox", "sh"],
    ["--root=/x", "run", "-d", "--name", "web", "-e", "A=1", "-e", "B", "--env-file", "/f",
     "-v", "/a:/b:ro", "--volume=/c:/d", "-w", "/tmp", "-u", "app:staff", "busybox", "ls", "-la"],
    ["run", "--entrypoint", "sh", "--hostname=h1", "--read-only", "--network", "host", "-m", "64m",
     "--cpus", "0.5", "--pids-limit", "20", "--init", "--runtime", "runc", "--pull", "never",
     "busybox", "-c", "echo $HOSTNAME"],
    ["run", "-dit", "busybox"], ["run", "-ti", "busybox", "--rm", "-e", "x"],
    ["run", "--entrypoint=", "busybox"], ["run", "--pids-limit=-1", "busybox"],
    ["run"], ["run", "--rm"], ["run", "--", "busybox"], ["run", "busybox", "--", "x"],
    ["run", "busybox", "x", "--", "y"], ["run", "--", "--", "b"], ["run", "-i", "--", "b", "x"],
    ["run", "--net", "host", "busybox"], ["run", "-eA=1", "busybox"], ["run", "-e=A", "b"],
    ["run", "-m", "1k", "busybox"], ["run", "--cpus", "-1", "busybox"], ["run", "--cpus", "-.5", "b"],
    ["run", "--network", "bridge", "b"], ["run", "--rm=yes", "busybox"], ["run", "-x", "busybox"],
    ["run", "-ie", "A", "busybox"], ["run", "-ieA", "busybox"], ["run", "-i=", "b"],
    ["run", "-e", "-x", "busybox"], ["run", "-e", "--", "b"], ["run", "--root", "/x", "busybox"],
    ["--root", "--debug", "run", "busybox"], ["run", "-", "x"], ["run", "-x y", "c"],
    ["run", "--en", "A", "b"], ["run", "--env-f", "/f", "b"], ["run", "--pids-limit", "x", "b"],
    ["--deb", "run", "-e", "A", "busybox", "sh"], ["--root=/x", "--debug", "bundle", "b", "/d", "true"],
    ["bundle", "b", "-e", "A", "/d"], ["bundle", "b"], ["bundle", "--rm", "b", "/d"],
    ["run", "-dp", "8080:80", "-P", "--network=web", "--network-alias", "db", "--ip", "10.1.0.5",
     "--add-host", "h:10.0.0.1", "--dns", "9.9.9.9", "-p127.0.0.1:80:80/udp", "busybox"],
]


def oracle(prog: str, options, positionals) -> argparse.ArgumentParser:
    """argparse, told the same options: what the one parser must agree with."""
    parser = argparse.ArgumentParser(prog=prog)
    for option in options:
        kwargs = {"dest": option.dest}
        if option.kind == "flag":
            kwargs["action"] = "store_true"
        elif option.kind == "append":
            kwargs.update(action="append", default=[])
        else:
            kwargs.update(choices=option.choices, default=option.default)
        if option.type is not None:
            kwargs["type"] = argparse_type(option.type)
        parser.add_argument(*option.flags, **kwargs)
    for name in positionals[:-1]:
        parser.add_argument(name)
    parser.add_argument(positionals[-1], nargs=argparse.REMAINDER)
    return parser


def argparse_type(convert):
    def converted(text):
        try:
            return convert(text)
        except UsageError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return converted


ORACLES = {"run": oracle("pyreg run", RUN_OPTIONS + RUN_ONLY_OPTIONS, ("image", "command")),
           "bundle": oracle("pyreg bundle", RUN_OPTIONS, ("image", "directory", "command"))}
PARSERS = {"run": RUN_PARSER, "bundle": BUNDLE_PARSER}
FUNCS = {"run": cmd_run, "bundle": cmd_bundle}


def expected(argv: list[str]):
    """What plain argparse makes of a whole command line, or None for an error."""
    main = argparse.ArgumentParser(prog="pyreg")
    main.add_argument("--root", default=None)
    main.add_argument("--debug", action="store_true")
    sub = main.add_subparsers(dest="verb", required=True)
    for verb, parser in ORACLES.items():
        sub.add_parser(verb, parents=[parser], add_help=False, conflict_handler="resolve")
    try:
        values = vars(main.parse_args(argv))
    except SystemExit:
        return None
    values["func"] = FUNCS[values.pop("verb")]
    return values


def ours(argv: list[str]):
    """What the real command line makes of it (through argparse, for global
    options in forms main leaves to argparse), or None for an error."""
    try:
        args = cli.parse_arguments(list(argv))
        if hasattr(args, "arguments"):  # main left it to argparse: the verb's own parser follows
            args = parse_verb(args.command, args.arguments, {"root": args.root, "debug": args.debug})
    except SystemExit:
        return None
    return vars(args)


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_the_command_line_reads_run_as_argparse_would(argv, capsys):
    assert ours(argv) == expected(argv)
    capsys.readouterr()


def test_random_command_lines_agree_with_argparse(capsys):
    """A few hundred mixes of the options' spellings, values that look like
    options, `--` and images, the same way each time (a fixed seed)."""
    pool = ["--rm", "-d", "-i", "-t", "-it", "-dit", "-e", "A=1", "-eB", "--env", "--env=C",
            "-m", "64m", "-m1k", "--cpus", "0.5", "-1", "--network", "host", "bridge", "--net",
            "--pids-limit", "-3", "--name", "x", "--", "-", "busybox", "sh", "-c", "-x", "--rm=1",
            "--entrypoint=", "--runtime", "runc", "-u", "0:0", "--log-opt", "max-size=1m", "-h?"]
    chooser = random.Random(9)
    for _ in range(400):
        verb = chooser.choice(["run", "run", "bundle"])
        argv = [verb] + [chooser.choice(pool) for _ in range(chooser.randint(0, 7))]
        if "-h?" in argv:
            argv[argv.index("-h?")] = "/d"
        assert ours(argv) == expected(argv), argv
    capsys.readouterr()


def test_help_and_errors_read_like_argparse(capsys):
    with pytest.raises(SystemExit) as shown:
        RUN_PARSER.parse(["--help"])
    assert shown.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: pyreg run [options] IMAGE [COMMAND ...]\n")
    assert "-m BYTES, --memory BYTES" in help_text and "--rm" in help_text
    for tokens, message in ((["-m", "1k", "b"], "argument -m/--memory: minimum memory limit allowed is 6MB"),
                            (["--runtime", "x", "b"], "argument --runtime: invalid choice: 'x' "
                                                      "(choose from 'pyreg', 'runc', 'crun')"),
                            (["--rm=yes", "b"], "argument --rm: ignored explicit argument 'yes'"),
                            (["-e"], "argument -e/--env: expected one argument"),
                            (["--bogus", "b"], "unrecognized arguments: --bogus"),
                            (["--n", "b"], "ambiguous option: --n could match --network, --net, --name, --network-alias"),
                            ([], "the following arguments are required: image, command")):
        with pytest.raises(SystemExit) as failed:
            RUN_PARSER.parse(tokens)
        lines = capsys.readouterr().err.splitlines()
        assert failed.value.code == 2 and lines == [RUN_PARSER.usage(), f"pyreg run: error: {message}"]


def test_run_is_parsed_without_argparse():
    code = ("import sys; sys.modules['argparse'] = None;"  # any import of it now fails
            "from pyreg_cli.main import parse_arguments;"
            "args = parse_arguments(['--root', '/x', 'run', '--rm', '-m', '64m', 'busybox', 'true']);"
            "print(args.root, args.memory, args.command)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "/x 67108864 ['true']", result.stderr
