"""Where a built image goes besides the store: --push of every -t that
names a registry (to a pyreg registry that skopeo then reads), --output
oci:DIR and docker-archive:FILE, --iidfile; and what a build reads besides
CONTEXT/Dockerfile: -f FILE, -f - (stdin), --label."""
import json
import tarfile

from puller.store import LocalStore
from tests.builder.builds import build, manifest_digest, pyreg, root, stored_names, write_context  # noqa: F401
from tests.builder.images import image_config
from tests.registry.skopeo import Skopeo
from tests.support.pyreg_server import pyreg_server

DOCKERFILE = "FROM busybox\nRUN echo pushed > /pushed\nCMD [\"cat\", \"/pushed\"]\n"


def test_push_sends_every_tag_that_names_a_registry_and_skopeo_reads_it(root, tmp_path):
    context = write_context(tmp_path / "ctx", DOCKERFILE)
    with pyreg_server(tmp_path / "registry") as url:
        host = url.split("://", 1)[1]
        done = build(root, context, "-t", f"{host}/team/app:1", "-t", f"{host}/team/app:latest",
                     "-t", "local-only:1", "--push")
        digest = manifest_digest(root, f"{host}/team/app:1")
        assert f"Pushed {host}/team/app@{digest}" in done.stderr
        skopeo = Skopeo(tmp_path)
        for tag in ("1", "latest"):
            inspected = json.loads(skopeo.run("inspect", "--tls-verify=false", f"docker://{host}/team/app:{tag}"))
            assert inspected["Digest"] == digest
        config = json.loads(skopeo.run("inspect", "--tls-verify=false", "--config", f"docker://{host}/team/app:1"))
        assert config["config"]["Cmd"] == ["cat", "/pushed"]
        skopeo.pull(url, "team/app", "1", tmp_path / "pulled")
        assert (tmp_path / "pulled" / "index.json").is_file()
    assert "docker.io/library/local-only:1" in stored_names(root)


def test_output_oci_and_docker_archive_and_the_iidfile(root, tmp_path):
    context = write_context(tmp_path / "ctx", DOCKERFILE)
    done = build(root, context, "-t", "out:1", "--output", f"oci:{tmp_path / 'layout'}",
                 "--iidfile", str(tmp_path / "iid"))
    assert (tmp_path / "iid").read_text() == done.stdout.strip()
    skopeo = Skopeo(tmp_path)
    inspected = json.loads(skopeo.run("inspect", f"oci:{tmp_path / 'layout'}:1"))
    assert inspected["Digest"] == manifest_digest(root, "out:1")
    build(root, context, "-t", "out:1", "--output", f"docker-archive:{tmp_path / 'image.tar'}")
    with tarfile.open(tmp_path / "image.tar") as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["out:1"]
    other = tmp_path / "other"
    loaded = pyreg(other, "load", "-i", str(tmp_path / "image.tar"))
    assert loaded.returncode == 0, loaded.stderr
    ran = pyreg(other, "run", "--rm", "out:1")
    assert ran.stdout == "pushed\n", ran.stderr


def test_dockerfile_from_a_file_or_stdin_and_labels(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM scratch\n")
    elsewhere = tmp_path / "app.Dockerfile"
    elsewhere.write_text("FROM busybox\nLABEL from=file\n")
    build(root, context, "-t", "file:1", "-f", str(elsewhere), "--label", "extra=yes")
    assert image_config(root, "file:1")["config"]["Labels"] == {"from": "file", "extra": "yes"}
    build(root, context, "-t", "stdin:1", "-f", "-", input="FROM busybox\nLABEL from=stdin\n")
    assert image_config(root, "stdin:1")["config"]["Labels"] == {"from": "stdin"}


def test_an_image_without_a_name_is_kept_and_runs_by_its_id(root, tmp_path):
    context = write_context(tmp_path / "ctx", DOCKERFILE)
    image_id = build(root, context).stdout.strip()
    assert stored_names(root) == ["docker.io/library/busybox:latest", ""]
    ran = pyreg(root, "run", "--rm", image_id.split(":")[1][:12])
    assert ran.stdout == "pushed\n", ran.stderr
    build(root, context)                                             # the same image: one entry still
    assert len(LocalStore(root).images()) == 2
    listed = pyreg(root, "images")
    assert listed.returncode == 0 and image_id.split(":")[1][:12] in listed.stdout, listed.stderr


def test_two_images_without_names_are_told_apart(root, tmp_path):
    first = build(root, write_context(tmp_path / "one", "FROM busybox\nLABEL n=1\n")).stdout.strip()
    second = build(root, write_context(tmp_path / "two", "FROM busybox\nLABEL n=2\n")).stdout.strip()
    listed = pyreg(root, "images").stdout
    assert first[7:19] in listed and second[7:19] in listed
    inspected = json.loads(pyreg(root, "inspect", second[7:19]).stdout)
    assert inspected["Id"] == second and inspected["Config"]["config"]["Labels"] == {"n": "2"}


def test_a_relative_root_and_context_work(root, tmp_path):
    write_context(tmp_path / "ctx", "FROM busybox\nRUN echo relative > /where\n")
    relative_root = root.relative_to(tmp_path)
    done = pyreg(relative_root, "build", "-q", "-t", "relative:1", "ctx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ran = pyreg(relative_root, "run", "--rm", "relative:1", "cat", "/where", cwd=tmp_path)
    assert ran.stdout == "relative\n", ran.stderr


def test_a_base_missing_from_the_store_is_pulled_and_pull_always_pulls_again(root, tmp_path):
    with pyreg_server(tmp_path / "registry") as url:
        host = url.split("://", 1)[1]
        assert pyreg(root, "push", "-q", "busybox", f"{host}/base/bb:1").returncode == 0
        context = write_context(tmp_path / "ctx", f"FROM {host}/base/bb:1\nRUN echo pulled > /pulled\n")
        fresh = tmp_path / "fresh"
        build(fresh, context, "-t", "pulled:1")
        assert f"{host}/base/bb:1" in stored_names(fresh)
        ran = pyreg(fresh, "run", "--rm", "pulled:1", "cat", "/pulled")
        assert ran.stdout == "pulled\n", ran.stderr
        # the registry's image moves on: --pull=always takes the new one, the default keeps the stored
        other = write_context(tmp_path / "newer", "FROM busybox\nLABEL newer=yes\n")
        build(root, other, "-t", f"{host}/base/bb:1", "--push")
        kept = build(fresh, context, "-t", "pulled:2")
        assert "using the cache" in kept.stderr
        build(fresh, context, "-t", "pulled:3", "--pull", "always")
        assert image_config(fresh, "pulled:3")["config"]["Labels"] == {"newer": "yes"}
        assert "Labels" not in image_config(fresh, "pulled:2")["config"]
