"""A hostile container against the host, as root: each test attacks from
inside and then checks on the host that nothing changed."""
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.inside.trampoline import elf_image
from tests.runtime.conftest import CLI, REPO, eventually, need_root, pyreg
from tests.support.busybox_image import LayerBuilder, build_busybox_image

# Tries every process's /proc/PID/exe that is not the container's busybox:
# chmod (container root holds CAP_FOWNER) and a write through it.
ATTACK = ("for p in /proc/[0-9]*; do case \"$(readlink $p/exe)\" in */busybox) continue;; esac;"
          " chmod 4755 $p/exe 2>/dev/null && echo \"chmod $p\";"
          " (echo pwned >> $p/exe) 2>/dev/null && echo \"write $p\"; done; true")


def out(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def fingerprint(path: Path) -> tuple:
    info = path.stat()
    return (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(info.st_mode),
            info.st_uid, tuple(os.listxattr(path)))


@pytest.fixture(scope="module")
def copied_interpreter(tmp_path_factory) -> Path:
    """pyreg runs on a private copy of the interpreter, the attacks' target."""
    copy = tmp_path_factory.mktemp("interpreter") / "python"
    shutil.copy2(os.path.realpath(sys.executable), copy)
    return copy


@pytest.fixture(scope="module")
def evil_image(store_root, copied_interpreter) -> str:
    """`/evil` is `#!/proc/self/exe`: exec'd by the host's interpreter, it
    would run that interpreter inside the container. The image's libraries
    at the paths the interpreter loads are FIFOs, so such a process would
    hang there, in reach, instead of failing to start."""
    listing = subprocess.run(["ldd", str(copied_interpreter)], capture_output=True, text=True).stdout
    loader = os.path.realpath("/lib64/ld-linux-x86-64.so.2")
    layer = LayerBuilder().file("evil", "#!/proc/self/exe\n", 0o755)
    layer.file("lib64/ld-linux-x86-64.so.2", Path(loader).read_bytes(), 0o755)
    for path in re.findall(r"=> (/\S+)", listing):
        layer.fifo(path.lstrip("/"))
    build_busybox_image(store_root, "docker.io/library/evil-exe:1", extra_layers=[layer.tar_bytes()])
    return "evil-exe:1"


def with_interpreter(interpreter: Path, root: Path, *args: str, timeout: float = 30):
    return subprocess.run([str(interpreter), "-c", CLI, "--root", str(root), *args],
                          capture_output=True, timeout=timeout, cwd=REPO)


def test_run_cannot_reach_the_host_interpreter(store_root, copied_interpreter, evil_image):
    need_root()
    before = fingerprint(copied_interpreter)
    result = with_interpreter(copied_interpreter, store_root, "run", "-d", "--name", "exe-run",
                              evil_image, "/evil")
    try:
        assert result.returncode == 0, result.stderr
        attack = with_interpreter(copied_interpreter, store_root, "exec", "exe-run", "sh", "-c", ATTACK)
        assert b"chmod" not in attack.stdout and b"write" not in attack.stdout

        def status() -> str:
            ps = with_interpreter(copied_interpreter, store_root, "ps", "-a").stdout.decode()
            return next(line for line in ps.splitlines() if "exe-run" in line)
        assert eventually(lambda: "Exited (126)" in status(), timeout=20), status()
    finally:
        with_interpreter(copied_interpreter, store_root, "rm", "-f", "exe-run")
    assert fingerprint(copied_interpreter) == before


@pytest.mark.parametrize("init", [(), ("--init",)], ids=["plain", "init"])
def test_exec_and_init_cannot_reach_the_host_interpreter(store_root, copied_interpreter,
                                                         evil_image, init):
    need_root()
    before = fingerprint(copied_interpreter)
    name = f"exe-exec{len(init)}"
    started = with_interpreter(copied_interpreter, store_root, "run", "-d", "--name", name, *init,
                               evil_image, "sleep", "60")
    assert started.returncode == 0, started.stderr
    joining = subprocess.Popen([str(copied_interpreter), "-c", CLI, "--root", str(store_root),
                                "exec", name, "/evil"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        attack = with_interpreter(copied_interpreter, store_root, "exec", name, "sh", "-c",
                                  f"sleep 0.3; {ATTACK}")
        assert attack.returncode == 0, attack.stderr
        assert b"chmod" not in attack.stdout and b"write" not in attack.stdout, attack.stdout
        assert joining.wait(timeout=20) == 126  # the trampoline refuses to be an interpreter
    finally:
        joining.kill()
        joining.wait()
        with_interpreter(copied_interpreter, store_root, "rm", "-f", name)
    assert fingerprint(copied_interpreter) == before


def test_init_holds_only_the_containers_privileges(store_root):
    need_root()
    result = pyreg(store_root, "run", "-d", "--init", "--name", "init-privs", "-u", "1000",
                   "busybox", "sleep", "60")
    assert result.returncode == 0, result.stderr
    container_dir = store_root / "containers" / result.stdout.decode().strip()
    try:
        pid = json.loads((container_dir / "state.json").read_text())["pid"]
        status = dict(l.split(":\t", 1) for l in open(f"/proc/{pid}/status").read().splitlines()
                      if ":\t" in l)
        assert status["Uid"].split()[0] == "1000" and status["NoNewPrivs"] == "1"
        assert status["Seccomp"] == "2"
        for key in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            assert int(status[key], 16) == 0, key  # uid 1000 holds none, as the command
        assert int(status["CapBnd"], 16) == 0x800405fb
        assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2"]  # no host descriptor
        as_root = out(pyreg(store_root, "exec", "init-privs", "sh", "-c",
                            "grep -E '^(CapEff|NoNewPrivs)' /proc/1/status; readlink /proc/1/exe || true"))
        assert "0000000000000000" in as_root and "python" not in as_root
    finally:
        pyreg(store_root, "rm", "-f", "init-privs")


def test_capabilities_inheritable_empty_and_adjustable(run):
    status = out(run("grep", "-E", "^Cap", "/proc/self/status"))
    fields = {l.split(":\t")[0]: int(l.split(":\t")[1], 16) for l in status.splitlines()}
    assert fields["CapInh"] == 0 and fields["CapAmb"] == 0
    assert not fields["CapBnd"] & (1 << 27 | 1 << 13 | 1 << 29)  # MKNOD, NET_RAW, AUDIT_WRITE
    added = out(run("grep", "CapBnd", "/proc/self/status", options=("--cap-add", "net_raw",
                                                                     "--cap-drop", "CHOWN")))
    assert int(added.split()[1], 16) == (0x800405fb | 1 << 13) & ~1  # + NET_RAW - CHOWN
    assert int(out(run("grep", "CapBnd", "/proc/self/status",
                       options=("--cap-drop", "ALL"))).split()[1], 16) == 0
    bad = run("true", options=("--cap-add", "CAP_NOPE"))
    assert bad.returncode == 125 and bad.stderr.count(b"\n") == 1


@pytest.fixture
def loop_device(tmp_path):
    """A host loop device over a file of known bytes; (major, minor, file)."""
    if not shutil.which("losetup"):
        pytest.skip("needs losetup")
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"HOSTDATA" * 8192)
    made = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"no loop device: {made.stderr.strip()}")
    device = made.stdout.strip()
    info = os.stat(device)
    yield os.major(info.st_rdev), os.minor(info.st_rdev), backing
    subprocess.run(["losetup", "-d", device])


def test_host_block_devices_stay_out_of_reach(run, loop_device):
    major, minor, backing = loop_device
    before = backing.read_bytes()
    denied = run("mknod", "/tmp/disk", "b", str(major), str(minor))
    assert denied.returncode != 0 and b"Operation not permitted" in denied.stderr
    # with CAP_MKNOD the node can be made, but no mount lets it open (nodev)
    nodes = f"b {major} {minor}"
    script = (f"mknod /tmp/disk {nodes} && mknod /dev/disk {nodes} && echo made;"
              "for d in /tmp/disk /dev/disk; do head -c 8 $d; echo overwrite > $d; done; true")
    result = run("sh", "-c", script, options=("--cap-add", "MKNOD"))
    assert b"made" in result.stdout and b"HOSTDATA" not in result.stdout
    assert result.stderr.count(b"Permission denied") == 4, result.stderr
    # with every capability, a fresh mount without nodev: the device cgroup says no
    script = (f"mkdir /tmp/m && mount -t tmpfs t /tmp/m && mknod /tmp/m/disk {nodes} && echo made;"
              "head -c 8 /tmp/m/disk; echo overwrite > /tmp/m/disk; true")
    result = run("sh", "-c", script, options=("--cap-add", "ALL"))
    assert b"made" in result.stdout and b"HOSTDATA" not in result.stdout
    assert result.stderr.count(b"Operation not permitted") == 2, result.stderr
    assert backing.read_bytes() == before
    assert out(run("sh", "-c", "head -c 4 /dev/zero | wc -c; echo x > /dev/null; ls /dev/pts"))


PROBES = {"add_key": 248, "keyctl": 250, "bpf": 321, "perf_event_open": 298, "unshare": 272,
          "kexec_load": 246, "open_by_handle_at": 304, "clone3": 435}


def probe(number: int) -> bytes:
    """A static program making syscall `number` with zero arguments; it
    exits with the errno (0 when the call succeeded)."""
    code = bytes.fromhex("b8") + number.to_bytes(4, "little") + bytes.fromhex(
        "31ff31f631d24d31d24d31c04d31c90f05f7d889c7b8e70000000f05")
    return elf_image(code)


@pytest.fixture(scope="module")
def probe_image(store_root) -> str:
    layer = LayerBuilder().dir("probe")
    for name, number in PROBES.items():
        layer.file(f"probe/{name}", probe(number), 0o755)
    build_busybox_image(store_root, "docker.io/library/probes:1", extra_layers=[layer.tar_bytes()])
    return "probes:1"


def errnos(store_root, image: str, *options: str) -> dict[str, int]:
    script = "grep Seccomp: /proc/self/status; for p in /probe/*; do $p; echo ${p##*/} $?; done"
    text = out(pyreg(store_root, "run", "--rm", *options, image, "sh", "-c", script))
    lines = text.splitlines()
    return {"Seccomp": int(lines[0].split()[1]), **{l.split()[0]: int(l.split()[1]) for l in lines[1:]}}


def test_default_seccomp_profile_refuses_what_dockers_does(store_root, probe_image):
    need_root()
    confined = errnos(store_root, probe_image)
    assert confined["Seccomp"] == 2
    for name in ("add_key", "keyctl", "bpf", "perf_event_open", "unshare", "kexec_load",
                 "open_by_handle_at"):
        assert confined[name] == 1, name  # EPERM
    assert confined["clone3"] == 38  # ENOSYS: libc falls back to clone
    free = errnos(store_root, probe_image, "--security-opt", "seccomp=unconfined")
    assert free["Seccomp"] == 0
    assert free["unshare"] == 0 and free["add_key"] != 1 and free["clone3"] != 38
    admin = errnos(store_root, probe_image, "--cap-add", "SYS_ADMIN")
    assert admin["unshare"] == 0 and admin["bpf"] != 1  # allowed with the capability, as docker


def test_seccomp_profile_file_in_dockers_format(store_root, tmp_path):
    need_root()
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    result = pyreg(store_root, "run", "--rm", "--security-opt", f"seccomp={profile}", "busybox",
                   "sh", "-c", "mkdir /tmp/x; echo still running")
    assert b"Permission denied" in result.stderr and result.stdout == b"still running\n"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x"}))
    refused = pyreg(store_root, "run", "--rm", "--security-opt", f"seccomp={profile}", "busybox", "true")
    assert refused.returncode == 125 and b"listenerPath" in refused.stderr
    assert refused.stderr.count(b"\n") == 1


@pytest.mark.parametrize("destination", ["/dev", "/proc", "/proc/sys", "/sys"])
def test_volumes_over_kernel_filesystems_are_refused(store_root, tmp_path, destination):
    need_root()
    host = tmp_path / "host"
    host.mkdir()
    (host / "keep").write_text("x")
    result = pyreg(store_root, "run", "--rm", "-v", f"{host}:{destination}", "busybox", "true")
    assert result.returncode == 125 and result.stderr.count(b"\n") == 1
    assert b"cannot mount over" in result.stderr
    assert sorted(p.name for p in host.iterdir()) == ["keep"]


def test_read_only_volumes_are_read_only_recursively(store_root, tmp_path):
    need_root()
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux)")
    host = tmp_path / "vol"
    (host / "sub").mkdir(parents=True)
    (host / "file").write_text("top\n")
    script = (f"mount -t tmpfs sub {host}/sub && echo inner > {host}/sub/file && "
              f"exec {sys.executable} -c \"{CLI}\" --root {store_root} run --rm -v {host}:/data:ro "
              "busybox sh -c 'cat /data/file /data/sub/file; echo a > /data/new; echo b > /data/sub/new;"
              " grep \" /data\" /proc/self/mountinfo'")
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, timeout=30, cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[:2] == ["top", "inner"]
    assert result.stderr.count(b"Read-only file system") == 2
    assert all(" ro," in line for line in lines[2:]) and len(lines[2:]) == 2
    assert not (host / "new").exists()


def test_runc_path_keeps_host_binaries_out_of_reach(store_root, copied_interpreter, evil_image):
    """With --runtime runc only runc's own process enters the container; it
    re-execs from a sealed copy of itself, so neither it nor our interpreter
    is reachable through /evil's #!/proc/self/exe."""
    need_root()
    runc = shutil.which("runc") or "/usr/sbin/runc"
    if not os.path.exists(runc):
        pytest.skip("runc not installed")
    before = fingerprint(copied_interpreter), fingerprint(Path(os.path.realpath(runc)))
    result = with_interpreter(copied_interpreter, store_root, "run", "--rm", "--runtime", "runc",
                              evil_image, "/evil")
    assert result.returncode != 0
    assert (fingerprint(copied_interpreter), fingerprint(Path(os.path.realpath(runc)))) == before
