"""What makes `pyreg run` start fast, checked through the real command:
the modules it loads, the /etc files it places without mounts, the
signals and capabilities the command gets, and the other verbs' parsers.
(The run parser itself: tests/test_run_args.py.)"""
from tests.runtime.conftest import CLI, loaded_modules, need_root, pyreg
from tests.support.busybox_image import LayerBuilder, build_busybox_image


def out(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_run_path_skips_modules_it_does_not_need(store_root, run):
    assert run("true").returncode == 0  # warm
    baseline = loaded_modules("-c", "pass")
    ours = loaded_modules("-c", CLI, "--root", str(store_root), "run", "--rm", "busybox", "true") - baseline
    assert {"runtime.inside.process", "runtime.kernel.linux", "runtime.fastjson"} <= ours
    # ctypes' Python layer, json's, signal's enums, the terminal and cgroup code, runc's, the cold
    # image path
    avoidable = {"ctypes", "json", "json.decoder", "signal", "contextlib", "struct", "_socket",
                 "termios", "fcntl", "runtime.inside.cgroups", "runtime.container.terminal",
                 "runtime.inside.console", "runtime.container.runc", "runtime.image.resolve",
                 "runtime.image.snapshots", "ocispec.layout"}
    assert not ours & avoidable, sorted(ours & avoidable)


def test_command_starts_with_default_signals_and_dockers_capabilities(run):
    status = out(run("grep", "-E", "^(SigIgn|SigBlk|CapEff|CapPrm|CapBnd)", "/proc/self/status"))
    fields = dict(line.split(":\t") for line in status.splitlines())
    assert int(fields["SigIgn"], 16) == 0, "Python's ignored SIGPIPE must not leak into the container"
    assert int(fields["SigBlk"], 16) == 0
    assert {int(fields[k], 16) for k in ("CapEff", "CapPrm", "CapBnd")} == {0x800405fb}


def test_etc_files_come_from_the_upper_layer_without_mounts(run):
    listing = out(run("sh", "-c", "cat /etc/hostname /etc/hosts; echo --; cat /proc/self/mountinfo",
                      options=("--hostname", "seeded")))
    files, mountinfo = listing.split("--\n")
    assert files.startswith("seeded\n") and "127.0.1.1\tseeded" in files
    mount_points = {line.split()[4] for line in mountinfo.splitlines()}
    assert not {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} & mount_points
    # (grep the whole line: the generated hostname, 12 hex digits, may contain "db")
    assert out(run("sh", "-c", "echo 10.0.0.1 db >> /etc/hosts && grep -cx '10.0.0.1 db' /etc/hosts")) == "1\n"


def test_image_without_an_etc_directory_gets_bind_mounted_files(store_root):
    need_root()
    no_etc = LayerBuilder().whiteout("etc").tar_bytes()
    build_busybox_image(store_root, "docker.io/library/no-etc:1", extra_layers=[no_etc])
    listing = out(pyreg(store_root, "run", "--rm", "--hostname", "mounted", "no-etc:1", "sh", "-c",
                        "cat /etc/hostname; cat /proc/self/mountinfo"))
    hostname, _, mountinfo = listing.partition("\n")
    assert hostname == "mounted"
    mount_points = {line.split()[4] for line in mountinfo.splitlines()}
    assert {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} <= mount_points


def test_hostname_with_a_trailing_newline_is_refused(store_root):
    result = pyreg(store_root, "run", "--rm", "--hostname", "box\n", "busybox", "true")
    assert result.returncode == 125 and b"invalid hostname" in result.stderr


def test_lifecycle_verbs_parse_and_explain_themselves(store_root):
    help_text = out(pyreg(store_root, "stop", "--help"))
    assert "-t SECS, --time SECS" in help_text
    missing = pyreg(store_root, "kill")
    assert missing.returncode == 2 and b"containers" in missing.stderr
    assert out(pyreg(store_root, "ps", "-a", "-q")) is not None
    exec_help = out(pyreg(store_root, "exec", "--help"))
    assert "--interactive" in exec_help


def test_a_failed_start_is_recorded_as_exited_not_running(store_root):
    need_root()
    result = pyreg(store_root, "run", "--name", "never-ran", "busybox", "no-such-command")
    assert result.returncode == 127
    listing = out(pyreg(store_root, "ps", "-a"))
    line = next(l for l in listing.splitlines() if l.endswith("never-ran"))
    assert "Exited (127)" in line and "Up" not in line
    assert "never-ran" not in out(pyreg(store_root, "ps"))
    assert pyreg(store_root, "rm", "never-ran").returncode == 0


def test_commands_are_found_along_the_containers_path(run):
    assert out(run("echo", "found", options=("-e", "PATH=/nowhere:/also/not:/bin"))) == "found\n"
    assert run("echo", "x", options=("-e", "PATH=/nowhere")).returncode == 127
    assert out(run("./hostname", options=("-w", "/bin", "--hostname", "rel"))) == "rel\n"
    assert run("./passwd", options=("-w", "/etc")).returncode == 126


def test_only_throwaway_containers_skip_syncing_their_upper_layer(store_root, run):
    def root_mount(result) -> str:
        return next(line for line in out(result).splitlines() if line.split()[4] == "/")
    assert "volatile" in root_mount(run("cat", "/proc/self/mountinfo"))
    kept = pyreg(store_root, "run", "--name", "kept-synced", "busybox", "cat", "/proc/self/mountinfo")
    try:
        assert "volatile" not in root_mount(kept)
    finally:
        pyreg(store_root, "rm", "kept-synced")
