"""The spec is a pure function of image config + options; users resolve
against the image's own passwd/group files."""
import pytest

from runtime.runspec.build import DEFAULT_CAPABILITIES, RunOptions, SpecError, Volume, build_spec
from runtime.runspec.users import User, UserError, resolve_user
from tests.support.busybox_image import GROUP, PASSWD

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["default", "args"], "Env": ["PATH=/bin", "A=1"],
         "WorkingDir": "/srv", "User": "app"}
ROOT = User(0, 0, (), "/root")


def files(path):
    return {"/etc/passwd": PASSWD, "/etc/group": GROUP}.get(path)


@pytest.mark.parametrize("options,args", [
    (RunOptions(), ["/entry", "default", "args"]),
    (RunOptions(command=("x", "y")), ["/entry", "x", "y"]),
    (RunOptions(entrypoint=("/other",)), ["/other"]),  # docker: --entrypoint resets Cmd
    (RunOptions(entrypoint=("/other",), command=("z",)), ["/other", "z"]),
    (RunOptions(entrypoint=(), command=("sh",)), ["sh"]),
])
def test_args(options, args):
    assert build_spec(IMAGE, options, ROOT)["process"]["args"] == args


def test_no_command_is_an_error():
    with pytest.raises(SpecError, match="no command"):
        build_spec({}, RunOptions(), ROOT)


def test_env_overrides_and_defaults():
    spec = build_spec(IMAGE, RunOptions(env=("A=2", "B=3"), hostname="box", tty=True), ROOT)
    env = spec["process"]["env"]
    assert "A=2" in env and "B=3" in env and "A=1" not in env
    assert "PATH=/bin" in env and "HOSTNAME=box" in env and "HOME=/root" in env
    assert "TERM=xterm" in env and spec["process"]["terminal"] is True


def test_workdir_and_hostname():
    spec = build_spec(IMAGE, RunOptions(workdir="/tmp/../data", hostname="h1"), ROOT)
    assert spec["process"]["cwd"] == "/data" and spec["hostname"] == "h1"
    assert build_spec(IMAGE, RunOptions(), ROOT)["process"]["cwd"] == "/srv"
    with pytest.raises(SpecError, match="absolute"):
        build_spec(IMAGE, RunOptions(workdir="rel"), ROOT)


def test_isolation_defaults():
    spec = build_spec(IMAGE, RunOptions(), ROOT)
    types = {n["type"] for n in spec["linux"]["namespaces"]}
    assert types == {"pid", "ipc", "uts", "mount", "network"}
    assert spec["process"]["noNewPrivileges"] is True
    assert spec["process"]["capabilities"]["bounding"] == list(DEFAULT_CAPABILITIES)
    assert "CAP_SYS_ADMIN" not in spec["process"]["capabilities"]["effective"]
    sys_mount = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert "ro" in sys_mount["options"]
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]


def test_host_network_keeps_the_host_namespace():
    spec = build_spec(IMAGE, RunOptions(network="host"), ROOT)
    assert "network" not in {n["type"] for n in spec["linux"]["namespaces"]}


def test_resources_and_read_only():
    spec = build_spec(IMAGE, RunOptions(memory=64 << 20, cpus=0.5, pids_limit=20,
                                        read_only=True), ROOT)
    resources = spec["linux"]["resources"]
    assert resources["memory"] == {"limit": 64 << 20, "swap": 64 << 20}
    assert resources["cpu"] == {"quota": 50_000, "period": 100_000}
    assert resources["pids"] == {"limit": 20}
    assert spec["root"] == {"path": "rootfs", "readonly": True}


def test_volumes_and_etc_files_become_bind_mounts():
    options = RunOptions(volumes=(Volume.parse("/h:/c:ro"), Volume.parse("/h2:/c2")),
                         etc_files={"/etc/hosts": "/state/hosts"})
    mounts = {m["destination"]: m for m in build_spec(IMAGE, options, ROOT)["mounts"]}
    assert mounts["/c"]["source"] == "/h" and "ro" in mounts["/c"]["options"]
    assert "ro" not in mounts["/c2"]["options"]
    assert mounts["/etc/hosts"]["type"] == "bind" and mounts["/etc/hosts"]["source"] == "/state/hosts"


@pytest.mark.parametrize("text", ["relative:/c", "/h:relative", "/h", "/h:/c:rx", "/h:/"])
def test_bad_volumes(text):
    with pytest.raises(SpecError):
        Volume.parse(text)


def test_spec_is_pure():
    first = build_spec(IMAGE, RunOptions(env=("X=1",)), ROOT)
    second = build_spec(IMAGE, RunOptions(env=("X=1",)), ROOT)
    assert first == second
    assert IMAGE["Env"] == ["PATH=/bin", "A=1"]


@pytest.mark.parametrize("text,expected", [
    ("", User(0, 0, (), "/root")),
    ("root", User(0, 0, (), "/root")),
    ("app", User(1000, 1000, (50,), "/home/app")),
    ("1000", User(1000, 1000, (50,), "/home/app")),
    ("app:staff", User(1000, 50, (), "/home/app")),
    ("4242", User(4242, 0, (), "/")),
    ("4242:4343", User(4242, 4343, (), "/")),
])
def test_users(text, expected):
    assert resolve_user(text, files) == expected


@pytest.mark.parametrize("text", ["ghost", "app:nogroupnamed"])
def test_unknown_users(text):
    with pytest.raises(UserError, match="unable to find"):
        resolve_user(text, files)
