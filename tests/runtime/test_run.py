"""`pyreg run` end to end: real namespaces, mounts and cgroups (root only)."""
import socket

import pytest

from tests.runtime.conftest import need_root, pyreg
from tests.support.busybox_image import LayerBuilder, build_busybox_image


def out(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_output_and_exit_code_come_back(run):
    result = run("sh", "-c", "echo hello; echo oops >&2; exit 7")
    assert result.returncode == 7
    assert result.stdout == b"hello\n" and result.stderr == b"oops\n"


def test_command_is_pid_1(run):
    assert out(run("sh", "-c", "echo $$")) == "1\n"


def test_init_reaps_and_runs_command_as_pid_2(run):
    script = "echo $$; cat /proc/1/comm; (sleep 0.1 &); sleep 0.3; ps -o stat | grep -c Z; true"
    pid, init_name, zombies = out(run("sh", "-c", script, options=("--init",))).split()
    assert pid == "2" and init_name != "sh"
    assert zombies == "0", "the orphaned sleep must have been reaped by PID 1"


def test_hostname_is_the_containers(run):
    assert out(run("hostname", options=("--hostname", "box1"))) == "box1\n"
    assert out(run("cat", "/etc/hostname", options=("--hostname", "box1"))) == "box1\n"
    assert out(run("hostname")).strip() != socket.gethostname()


def test_host_processes_are_invisible(run):
    pids = out(run("sh", "-c", "ls /proc | grep -E '^[0-9]+$'")).split()
    assert set(pids) <= {"1", "2", "3", "4"}, pids


def test_host_files_are_invisible(run, tmp_path):
    marker = tmp_path / "host-only-marker"
    marker.write_text("secret")
    result = run("cat", str(marker))
    assert result.returncode != 0 and b"secret" not in result.stdout
    assert out(run("ls", "/")).split() == sorted(["bin", "dev", "etc", "home", "proc", "root",
                                                   "sys", "tmp"])


def test_writes_land_in_upper_and_vanish_with_rm(store_root, run):
    def container_dirs():
        return {p.name for p in (store_root / "containers").iterdir() if p.is_dir()}
    assert run("true").returncode == 0
    before = container_dirs()
    assert out(run("sh", "-c", "echo new > /etc/passwd; echo x > /created; cat /etc/passwd")) == "new\n"
    assert "root:x:0:0" in out(run("cat", "/etc/passwd")), "a lower layer was modified"
    assert container_dirs() == before, "--rm must remove the container directory"


def test_write_without_rm_is_in_upper_dir(store_root):
    result = pyreg(store_root, "run", "--name", "keeper", "busybox", "sh", "-c", "echo kept > /note")
    assert result.returncode == 0, result.stderr
    containers = [p for p in (store_root / "containers").iterdir()
                  if p.is_dir() and "keeper" in (p / "state.json").read_text()]
    assert (containers[0] / "upper" / "note").read_text() == "kept\n"
    assert pyreg(store_root, "rm", "keeper").returncode == 0
    assert not containers[0].exists()


def test_memory_limit_kills_a_process_exceeding_it(run):
    script = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    result = run("sh", "-c", script, options=("--memory", "32m"))
    assert result.returncode == 137 and b"survived" not in result.stdout
    assert out(run("sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo ok",
                   options=("--memory", "32m"))) == "ok\n"


def test_pids_limit(run):
    result = run("sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait",
                 options=("--pids-limit", "4"))
    assert b"fork" in result.stderr.lower() or b"resource" in result.stderr.lower()


def test_network_none_has_only_loopback(run):
    links = out(run("ip", "-o", "link"))
    assert "lo:" in links and "UP" in links and len(links.strip().splitlines()) == 1
    host_links = out(run("ip", "-o", "link", options=("--network", "host")))
    assert len(host_links.strip().splitlines()) >= 1


def test_capabilities_are_dropped(run):
    status = out(run("grep", "Cap", "/proc/self/status"))
    bounding = int(next(l for l in status.splitlines() if l.startswith("CapBnd")).split()[1], 16)
    assert bounding == 0x800405fb  # podman's default set: no MKNOD, NET_RAW, AUDIT_WRITE
    assert "NoNewPrivs" in out(run("grep", "NoNewPrivs", "/proc/self/status"))
    assert run("mount", "-t", "tmpfs", "t", "/tmp").returncode != 0  # no CAP_SYS_ADMIN


def test_image_config_and_overrides(store_root, tmp_path):
    build_busybox_image(store_root, "docker.io/library/configured:1", config={
        "Entrypoint": ["sh", "-c"], "Cmd": ["echo $GREETING from $(pwd) as $(id -u)"],
        "Env": ["PATH=/bin", "GREETING=hi"], "WorkingDir": "/home", "User": "app"})
    assert out(pyreg(store_root, "run", "--rm", "configured:1")) == "hi from /home as 1000\n"
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nGREETING=file\n")
    result = pyreg(store_root, "run", "--rm", "--env-file", str(env_file), "-w", "/tmp", "-u", "0",
                   "configured:1", "echo $GREETING in $(pwd) as $(id -u)")
    assert out(result) == "file in /tmp as 0\n"
    result = pyreg(store_root, "run", "--rm", "-e", "GREETING=flag", "--entrypoint", "sh",
                   "configured:1", "-c", "echo $GREETING")
    assert out(result) == "flag\n"


def test_volumes_and_read_only(run, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("from host")
    assert out(run("sh", "-c", "cat /data/in; echo back > /data/out",
                   options=("-v", f"{shared}:/data"))) == "from host"
    assert (shared / "out").read_text() == "back\n"
    result = run("sh", "-c", "echo no > /data/x", options=("-v", f"{shared}:/data:ro"))
    assert result.returncode != 0 and not (shared / "x").exists()
    result = run("sh", "-c", "echo no > /x", options=("--read-only",))
    assert result.returncode != 0 and b"Read-only" in result.stderr


def test_etc_symlink_to_host_is_not_followed(store_root, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    evil = LayerBuilder().symlink("etc/hosts", str(victim)).tar_bytes()
    build_busybox_image(store_root, "docker.io/library/evil-hosts:1", extra_layers=[evil])
    result = pyreg(store_root, "run", "--rm", "evil-hosts:1", "cat", "/etc/hosts")
    assert "localhost" in out(result)
    assert victim.read_text() == "host file\n"


def test_whiteouts_remove_lower_files(store_root):
    upper = LayerBuilder().whiteout("etc/group").opaque("home").file("home/new", "n").tar_bytes()
    build_busybox_image(store_root, "docker.io/library/whited:1", extra_layers=[upper])
    listing = out(pyreg(store_root, "run", "--rm", "whited:1", "sh", "-c",
                        "ls /etc; echo --; ls -a /home"))
    etc, home = listing.split("--\n")
    assert "group" not in etc.split() and "passwd" in etc.split()
    assert home.split() == [".", "..", "new"]


def test_copy_fallback_gives_the_same_view(store_root):
    upper = LayerBuilder().whiteout("etc/group").opaque("home").file("home/new", "n").tar_bytes()
    build_busybox_image(store_root, "docker.io/library/whited:2", extra_layers=[upper])
    result = pyreg(store_root, "run", "--rm", "whited:2", "sh", "-c",
                   "ls /etc; echo --; ls -a /home; mount | head -1",
                   env={"PYREG_ROOTFS": "copy"})
    etc, home = out(result).split("--\n")
    assert "group" not in etc.split() and home.split()[:3] == [".", "..", "new"]
    assert "overlay" not in home


def test_errors_are_one_line(run, store_root):
    for args, code, line in (
            ((), 125, "pyreg: image 'no-such-image' not found locally"),
            (("nonexistent-binary",), 127,
             "pyreg: exec 'nonexistent-binary': executable file not found in $PATH"),
            (("/etc/passwd",), 126, "pyreg: exec '/etc/passwd': permission denied")):
        result = run(*args) if args else pyreg(store_root, "run", "--rm", "--pull", "never",
                                               "no-such-image")
        assert result.returncode == code, result.stderr
        assert result.stderr.decode().splitlines() == [line]


def test_debug_brings_the_containers_own_traceback(store_root):
    """--debug, or PYREG_DEBUG read by the command line, reaches the
    container's PID 1: its failure report carries where it failed."""
    need_root()
    for global_options, env in ((("--debug",), {}), ((), {"PYREG_DEBUG": "1"})):
        result = pyreg(store_root, *global_options, "run", "--rm", "busybox", "/etc/passwd", env=env)
        assert result.returncode == 126
        lines = result.stderr.decode().splitlines()
        assert lines[0] == "pyreg: exec '/etc/passwd': permission denied"
        assert lines[1] == "Traceback (most recent call last):", lines


def test_an_unknown_rootfs_mode_is_refused(store_root):
    result = pyreg(store_root, "run", "--rm", "busybox", "true", env={"PYREG_ROOTFS": "cpy"})
    assert result.returncode == 125
    assert result.stderr.decode().splitlines() == ["pyreg: PYREG_ROOTFS='cpy': pyreg knows only PYREG_ROOTFS=copy"]


def test_stdin_with_interactive(run):
    assert out(run("cat", options=("-i",), input=b"piped in")) == "piped in"
    assert out(run("cat", input=b"ignored")) == ""


def test_tty_is_the_containers_own_pty(run):
    result = run("sh", "-c", "tty; echo $TERM; exit 3", options=("-t",))
    assert result.returncode == 3, result.stderr
    assert result.stdout.replace(b"\r", b"").split() == [b"/dev/pts/0", b"xterm"]
    result = run("sh", options=("-i", "-t"), input=b"echo typed-$((40+2))\nexit 5\n")
    assert result.returncode == 5 and b"typed-42" in result.stdout


def test_retagged_image_is_not_served_from_a_stale_cache(store_root):
    for version in ("one", "two"):
        layer = LayerBuilder().file("which", version).tar_bytes()
        build_busybox_image(store_root, "docker.io/library/retag:1", extra_layers=[layer])
        assert out(pyreg(store_root, "run", "--rm", "retag:1", "cat", "/which")) == version


def test_bad_hostname_is_refused(store_root):
    result = pyreg(store_root, "run", "--rm", "--hostname", "evil\n1.2.3.4 bank", "busybox", "true")
    assert result.returncode == 125 and b"invalid hostname" in result.stderr


def test_run_path_imports_nothing_heavy(store_root, run):
    from tests.runtime.conftest import CLI, loaded_modules
    baseline = loaded_modules("-c", "pass")  # what the interpreter's site loads anyway
    assert run("true").returncode == 0  # warm: snapshots unpacked, resolution cached
    ours = loaded_modules("-c", CLI, "--root", str(store_root), "run", "--rm", "busybox", "true") - baseline
    assert "runtime.inside.process" in ours
    heavy = {"aiohttp", "boto3", "botocore", "asyncio", "yaml", "puller", "registry", "tarfile",
             "ocispec.manifest", "dataclasses", "subprocess", "pathlib"}
    assert not {name for name in ours if name in heavy or name.split(".")[0] in heavy}


def test_run_by_image_id_and_detached_rm(store_root):
    digest = build_busybox_image(store_root, "docker.io/library/byid:1",
                                 extra_layers=[LayerBuilder().file("id", "yes").tar_bytes()])
    assert out(pyreg(store_root, "run", "--rm", digest.encoded[:12], "cat", "/id")) == "yes"
    result = pyreg(store_root, "run", "-d", "--rm", "byid:1", "true")
    container_dir = store_root / "containers" / result.stdout.decode().strip()
    from tests.runtime.conftest import eventually
    assert eventually(lambda: not container_dir.exists()), "a detached --rm container must remove itself"


def test_missing_image_is_pulled_from_a_registry(store_root, tmp_path, distribution):
    """A real Distribution 2.8.2 serves the image; `pyreg run` pulls it first."""
    import subprocess
    from tests.support.processes import require_binary
    skopeo = require_binary("skopeo", "skopeo")
    host = distribution.removeprefix("http://")
    pushed = subprocess.run([skopeo, "copy", "--dest-tls-verify=false",
                             f"oci:{store_root / 'images'}:docker.io/library/busybox:latest",
                             f"docker://{host}/tools/busybox:1"], capture_output=True, timeout=60)
    assert pushed.returncode == 0, pushed.stderr
    empty_root = tmp_path / "fresh"
    result = pyreg(empty_root, "run", "--rm", f"{host}/tools/busybox:1", "echo", "pulled and ran",
                   timeout=60)
    assert out(result) == "pulled and ran\n"
    assert b"Unable to find image" in result.stderr


def test_tty_follows_window_size_changes(store_root):
    """pyreg on a pty of ours: a resize of it reaches the container's pty."""
    import fcntl
    import os
    import select
    import struct
    import sys
    import termios
    import time
    from tests.runtime.conftest import CLI, REPO, need_root
    need_root()
    terminal, ours = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
    pid = os.fork()
    if pid == 0:  # pyreg with the pty as its controlling terminal, as pty.fork does
        os.setsid()
        fcntl.ioctl(ours, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(ours, fd)
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-c", CLI, "--root", str(store_root), "run", "--rm",
                                  "-it", "busybox", "sh", "-c", "stty size; echo ready; read x; stty size"])
    os.close(ours)
    seen = b""

    def read_until(marker: bytes) -> bytes:
        nonlocal seen
        deadline = time.monotonic() + 20
        while marker not in seen and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    seen += os.read(terminal, 4096)
                except OSError:
                    break
        return seen
    try:
        assert b"ready" in read_until(b"ready"), seen
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 41, 123, 0, 0))
        os.write(terminal, b"\n")
        assert b"41 123" in read_until(b"41 123"), seen
        assert seen.index(b"30 90") < seen.index(b"ready")  # the size at start, too
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
