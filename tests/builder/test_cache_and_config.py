"""Cache keys (what invalidates a step and what does not), the cache index,
and the image config docker's rules give."""
import os

import pytest

from builder.cache import BuildCache, CacheRecord, base_key, copy_sources, step_key
from builder.context import SourceTree
from builder.errors import BuildError
from builder.imageconfig import StageConfig, check_signal, created_by, parse_ports, start_config, timestamp
from builder.parser import parse_dockerfile
from builder.scope import StageScope
from builder.sources import CopyRequest, Owner, select
from ocispec.descriptor import Platform
from ocispec.digest import Digest
from ocispec.layout import OciLayout
from tests.builder.contexts import make_tree

AMD64 = Platform("linux", "amd64")


def instruction(line):
    return parse_dockerfile(f"FROM x\n{line}\n").stages[0].instructions[0]


def test_step_keys_change_with_what_matters_only():
    parent = base_key("sha256:" + "a" * 64, "linux/amd64")
    run = instruction("RUN make")
    key = step_key(parent, run, {"A": "1"})
    moved = parse_dockerfile("FROM x\n\n\nRUN make\n").stages[0].instructions[0]
    assert step_key(parent, moved, {"A": "1"}) == key                 # its line is not in the key
    assert step_key(base_key("sha256:" + "b" * 64, "linux/amd64"), run, {"A": "1"}) != key
    assert step_key(parent, instruction("RUN make all"), {"A": "1"}) != key
    assert step_key(parent, run, {"A": "2"}) != key
    assert step_key(parent, run, {"A": "1"}, {"network": "host"}) != key
    assert step_key(parent, instruction("RUN --network=none make"), {"A": "1"}) != key
    assert base_key() == base_key("", "") != parent                   # scratch
    assert base_key(stage_key=key) == key


def copy_key(root, parent="p", **request):
    tree = SourceTree(root)
    items = select(tree, CopyRequest(("src",), "/app/", **request))
    return step_key(parent, instruction("COPY src /app/"), sources=copy_sources(tree, items))


def test_copy_keys_follow_content_mode_and_owner_not_mtime(tmp_path):
    root = make_tree(tmp_path / "ctx", {"src/a": b"one", "src/b": b"two"})
    key = copy_key(root)
    os.utime(root / "src" / "a", (1, 1))
    assert copy_key(root) == key                                      # touched: same key
    assert copy_key(root, chown=Owner(1, 1)) != key
    (root / "src" / "a").chmod(0o600)
    changed_mode = copy_key(root)
    assert changed_mode != key
    (root / "src" / "a").write_bytes(b"ONE")
    assert copy_key(root) not in (key, changed_mode)


def test_the_cache_index_round_trip_and_misses(tmp_path):
    layout = OciLayout(tmp_path / "images").init()
    blob = layout.write_blob(b"layer bytes")
    cache = BuildCache(tmp_path)
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": str(blob),
             "size": 11, "diffID": "sha256:" + "c" * 64}
    with_layer = CacheRecord(step_key("p", instruction("RUN a")), "2023-11-14T22:13:20Z", layer)
    without = CacheRecord(step_key("p", instruction("ENV A=1")), "2023-11-14T22:13:21Z")
    cache.put(with_layer)
    cache.put(without)
    assert cache.get(with_layer.key, layout) == with_layer
    assert cache.get(without.key, layout) == without
    assert cache.get(step_key("p", instruction("RUN b")), layout) is None
    assert cache.referenced_blobs() == {blob}
    assert (tmp_path / "build-cache" / "steps" / with_layer.key[7:9] / f"{with_layer.key[7:]}.json").is_file()
    layout.blob_path(blob).unlink()                                   # collected: the record reads as a miss
    assert cache.get(with_layer.key, layout) is None
    cache._path(without.key).write_text("{not json")
    assert cache.get(without.key, layout) is None


def apply_stage(text, base=None, build_args=None):
    """The metadata half of a build: substitution, scopes and config, no RUN."""
    dockerfile = parse_dockerfile(text)
    config, triggers = start_config(base, AMD64)
    state = StageConfig(config)
    scope = StageScope(config["config"].get("Env", []), {}, build_args or {}, {})
    for number, raw in enumerate(dockerfile.stages[-1].instructions):
        applied = scope.substitute(raw)
        scope.apply(applied)
        state.apply(applied)
        state.record(created_by(applied, state.shell, scope.visible_args()), timestamp(1_700_000_000 + number),
                     None)
    return state.config, triggers


def test_a_scratch_stage_gets_docker_defaults():
    config, triggers = apply_stage("FROM scratch\n")
    assert config == {"architecture": "amd64", "os": "linux", "config": {"Env": [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    assert triggers == []


def test_every_config_field():
    config, _ = apply_stage(
        "FROM scratch\nENV PATH=/bin A=1\nENV A=2 B=${A}x\nLABEL a=1 \"b c\"=\"d e\"\nLABEL a=3\n"
        "EXPOSE 80 53/udp 8000-8002\nVOLUME /data /var/db\nVOLUME [\"/logs\"]\nUSER app:staff\n"
        "WORKDIR /a\nWORKDIR b\nWORKDIR ../c\nSTOPSIGNAL SIGINT\nSHELL [\"/bin/bash\", \"-euc\"]\n"
        "HEALTHCHECK --interval=30s --retries=2 CMD check\nONBUILD RUN echo child\nCMD run.sh\n"
        "ENTRYPOINT [\"tini\", \"--\"]\nMAINTAINER someone\n")
    settings = config["config"]
    assert settings["Env"] == ["PATH=/bin", "A=2", "B=1x"]
    assert settings["Labels"] == {"a": "3", "b c": "d e"}
    assert settings["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}}
    assert settings["Volumes"] == {"/data": {}, "/logs": {}, "/var/db": {}}
    assert (settings["User"], settings["WorkingDir"], settings["StopSignal"]) == ("app:staff", "/a/c", "SIGINT")
    assert settings["Shell"] == ["/bin/bash", "-euc"]
    assert settings["Healthcheck"] == {"Test": ["CMD-SHELL", "check"], "Interval": 30 * 10**9, "Retries": 2}
    assert settings["OnBuild"] == ["RUN echo child"]
    assert settings["Cmd"] == ["/bin/bash", "-euc", "run.sh"]   # set in this stage: ENTRYPOINT keeps it
    assert settings["Entrypoint"] == ["tini", "--"]
    assert config["author"] == "someone"
    assert all(entry["empty_layer"] for entry in config["history"])
    assert config["created"] == "2023-11-14T22:13:37Z"   # the last of 18 steps


def test_entrypoint_resets_an_inherited_cmd_and_onbuild_triggers_are_handed_over():
    base = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"], "OnBuild": ["COPY . /src"],
                                                             "Env": ["PATH=/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d" * 64]}, "history": [{"created_by": "base"}]}
    config, triggers = apply_stage("FROM base\nENTRYPOINT [\"/app\"]\n", base)
    assert "Cmd" not in config["config"] and config["config"]["Entrypoint"] == ["/app"]
    assert "OnBuild" not in config["config"] and triggers == ["COPY . /src"]
    assert config["config"]["Env"] == ["PATH=/usr/bin"]
    assert base["config"]["Cmd"] == ["sh"]                      # the base config is not changed
    assert config["rootfs"]["diff_ids"] == base["rootfs"]["diff_ids"] and len(config["history"]) == 2
    cleared, _ = apply_stage("FROM base\nCMD []\nHEALTHCHECK NONE\n", base)
    assert "Cmd" not in cleared["config"] and cleared["config"]["Healthcheck"] == {"Test": ["NONE"]}


def test_history_records_layers_and_empty_steps():
    state = StageConfig(start_config(None, AMD64)[0])
    layer = Digest("sha256", "e" * 64)
    state.record("COPY a / # buildkit", "2023-11-14T22:13:20Z", layer)
    state.record("ENV A=1", "2023-11-14T22:13:21Z", None)
    assert state.config["history"] == [
        {"created": "2023-11-14T22:13:20Z", "created_by": "COPY a / # buildkit"},
        {"created": "2023-11-14T22:13:21Z", "created_by": "ENV A=1", "empty_layer": True}]
    assert state.config["rootfs"]["diff_ids"] == [str(layer)]


def test_created_by_in_buildkit_words():
    shell = ["/bin/sh", "-c"]
    assert created_by(instruction("RUN make"), shell, {}) == "RUN /bin/sh -c make # buildkit"
    assert created_by(instruction("RUN [\"make\", \"all\"]"), shell, {"A": "1", "B": "2"}) == \
        "RUN |2 A=1 B=2 make all # buildkit"
    assert created_by(instruction("ENV A=1 B=2"), shell, {}) == "ENV A=1 B=2"
    assert created_by(instruction("CMD serve"), shell, {}) == 'CMD ["/bin/sh", "-c", "serve"]'
    assert created_by(instruction("COPY a b /d/"), shell, {}) == "COPY a b /d/ # buildkit"
    assert created_by(instruction("ONBUILD RUN x"), shell, {}) == "ONBUILD RUN x"


def test_timestamps_as_go_writes_them():
    assert timestamp(1_700_000_000) == "2023-11-14T22:13:20Z"
    assert timestamp(1_700_000_000.25) == "2023-11-14T22:13:20.25Z"


@pytest.mark.parametrize("spec, message", [("http", "invalid port"), ("80/icmp", "invalid protocol"),
                                           ("0", "invalid port range"), ("90-80", "invalid port range"),
                                           ("70000", "invalid port range")])
def test_bad_ports(spec, message):
    with pytest.raises(BuildError, match=message):
        parse_ports(spec)


def test_ports_with_host_parts_and_signals():
    assert parse_ports("127.0.0.1:8080:80/UDP") == ["80/udp"]
    for good in ("SIGTERM", "term", "9", "SIGRTMIN+3"):
        assert check_signal(good) == good
    with pytest.raises(BuildError, match="STOPSIGNAL SIGNOPE: invalid signal"):
        check_signal("SIGNOPE")
