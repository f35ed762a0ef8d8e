"""Two `pyreg serve` replicas from one config.yml on one S3 server (moto over
HTTP), used as one registry: every request of a push or pull goes to the
other replica than the last, chunks of one upload race on both at once,
a tag moved through one is served by the other at once, and catalog and tag
pages read from both stay true while both take pushes."""
from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import os
import threading
import time

import pytest
import yaml

from tests.support.pyreg_server import pyreg_server

from .test_workers import call

RACE_ROUNDS = 8
MiB = 1 << 20


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Alternating:
    """A client whose every request goes to the next replica in turn."""

    def __init__(self, urls: list[str]):
        self._next = itertools.cycle(urls)
        self._lock = threading.Lock()

    def __call__(self, method: str, path: str, body: bytes = b"", headers=None):
        with self._lock:
            url = next(self._next)
        return call(url, method, path, body, headers)


@pytest.fixture(scope="module")
def replicas(moto_s3, tmp_path_factory):
    config = tmp_path_factory.mktemp("replicas") / "config.yml"
    config.write_text(yaml.safe_dump({"version": "0.1", "http": {"secret": "one-secret-for-all"},
                                      "storage": moto_s3.storage_config(moto_s3.create_bucket())}))
    # the replicas' log (stderr) reaches a failing test's output: a 503 names its S3 call there
    with pyreg_server(None, ["--config", str(config)], stderr=None) as first, \
            pyreg_server(None, ["--config", str(config)], stderr=None) as second:
        yield [first, second]


def push_image(client: Alternating, repo: str, tag: str, layer: bytes, chunk: int) -> str:
    """Config whole, layer in chunks, manifest: each request on the next replica."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
    status, _, body = client("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(config)}", config)
    assert status == 201, body
    status, headers, _ = client("POST", f"/v2/{repo}/blobs/uploads/")
    location = headers["Location"]
    for offset in range(0, len(layer), chunk):
        part = layer[offset:offset + chunk]
        status, headers, body = client("PATCH", location, part,
                                       {"Content-Range": f"{offset}-{offset + len(part) - 1}"})
        assert status == 202 and headers["Range"] == f"0-{offset + len(part) - 1}", body
        location = headers["Location"]
    assert client("PUT", f"{location}?digest={sha256(layer)}")[0] == 201
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(layer), "size": len(layer)}]}).encode()
    status, _, body = client("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                             {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, body
    return sha256(manifest)


def pull_and_verify(client: Alternating, repo: str, tag: str) -> str:
    status, headers, raw = client("GET", f"/v2/{repo}/manifests/{tag}",
                                  headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 200 and headers["Docker-Content-Digest"] == sha256(raw)
    manifest = json.loads(raw)
    for descriptor in [manifest["config"], *manifest["layers"]]:
        status, _, data = client("GET", f"/v2/{repo}/blobs/{descriptor['digest']}")
        assert status == 200 and sha256(data) == descriptor["digest"]
        assert len(data) == descriptor["size"]
    return sha256(raw)


def test_a_push_spread_over_both_replicas_pulls_back_whole(replicas):
    client = Alternating(replicas)
    layer = os.urandom(6 * MiB + 12345)  # chunks past S3's 5 MiB part minimum: appends copy server-side
    digest = push_image(client, "spread/app", "v1", layer, chunk=2 * MiB + 1)
    assert pull_and_verify(client, "spread/app", "v1") == digest


def test_a_tag_moved_on_one_replica_is_served_by_the_other_at_once(replicas):
    first, second = Alternating([replicas[0]]), Alternating([replicas[1]])
    for round_ in range(3):
        digest = push_image(first if round_ % 2 else second, "moving/app", "latest",
                            os.urandom(1000 + round_), chunk=4096)
        for reader in (first, second):  # each replica has served the old tag before
            status, headers, _ = reader("HEAD", "/v2/moving/app/manifests/latest",
                                        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            assert status == 200 and headers["Docker-Content-Digest"] == digest


def _race(urls: list[str], location: str, chunks: list[bytes], start: int | None) -> list[tuple]:
    """The chunks PATCHed at once, chunk i to urls[i % 2]; (status, headers) each."""
    barrier, answers = threading.Barrier(len(chunks)), [None] * len(chunks)

    def patch(i: int) -> None:
        headers = {} if start is None else {"Content-Range": f"{start}-{start + len(chunks[i]) - 1}"}
        barrier.wait(timeout=30)
        answers[i] = call(urls[i % len(urls)], "PATCH", location, chunks[i], headers)[:2]

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(len(chunks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.parametrize("ranged", [True, False], ids=["content-range", "streamed"])
def test_chunks_of_one_upload_racing_on_both_replicas_never_corrupt_it(replicas, ranged):
    """Each round: two chunks race for offset 0 and two for the next offset,
    one on each replica; one of each pair lands, the other gets 416 with the
    session's Range, and the blob is exactly the winners' bytes. (Streamed
    chunks carry no range: one that arrives after the other finished simply
    follows it, so there both may land, in the order their Ranges say.)"""
    deadline, refused = time.monotonic() + 120, 0
    for round_ in range(RACE_ROUNDS):
        assert time.monotonic() < deadline, f"only {round_} rounds in time"
        status, headers, _ = call(replicas[round_ % 2], "POST", "/v2/race/app/blobs/uploads/")
        location, landed = headers["Location"], b""
        for _ in range(2):
            size = 256 * 1024 + round_
            chunks = [bytes([65 + round_]) * size, bytes([97 + round_]) * size]
            answers = _race(replicas, location, chunks, len(landed) if ranged else None)
            landed += _landed(answers, chunks, ranged)
            refused += any(status == 416 for status, _ in answers)
        finish = call(replicas[(round_ + 1) % 2], "PUT", f"{location}?digest={sha256(landed)}")
        assert finish[0] == 201, finish
        status, _, data = call(replicas[round_ % 2], "GET", f"/v2/race/app/blobs/{sha256(landed)}")
        assert status == 200 and data == landed
    assert refused >= RACE_ROUNDS  # most pairs did overlap: the race was run, not dodged


def _landed(answers: list[tuple], chunks: list[bytes], ranged: bool) -> bytes:
    """The bytes the answers say landed, checking each answer's Range."""
    statuses = sorted(status for status, _ in answers)
    if statuses == [202, 202] and not ranged:
        ends = [int(headers["Range"].split("-")[1]) for _, headers in answers]
        assert abs(ends[0] - ends[1]) == len(chunks[0]), answers
        return b"".join(chunks[i] for i in sorted(range(2), key=ends.__getitem__))
    assert statuses == [202, 416], answers
    winner = [status for status, _ in answers].index(202)
    loser = answers[1 - winner][1]
    assert loser["Range"].startswith("0-") and "Location" in loser
    return chunks[winner]


def _page_all(client: Alternating, path: str, key: str, n: int) -> list[str]:
    seen, url = [], f"{path}?n={n}"
    while url:
        status, headers, body = client("GET", url)
        assert status == 200, body
        page = json.loads(body)[key]
        assert page == sorted(page, key=lambda name: name.split("/")) and len(page) <= n
        seen += page
        link = headers.get("Link", "")
        url = link.partition(">")[0].lstrip("<") if link else None
        if url and "://" in url:
            url = "/" + url.split("://", 1)[1].split("/", 1)[1]
    return seen


def test_catalog_and_tags_from_both_replicas_while_both_push(replicas):
    client = Alternating(replicas)
    wanted = {f"busy/repo{number:02d}": [f"t{tag}" for tag in range(4)] for number in range(12)}
    stop = threading.Event()

    def push(repo: str) -> None:
        for tag in wanted[repo]:
            push_image(client, repo, tag, os.urandom(200), chunk=100)

    def read_while_writing() -> int:
        pages = 0
        while not stop.is_set() and pages < 200:
            names = _page_all(client, "/v2/_catalog", "repositories", 5)
            assert len(names) == len(set(names))  # a page boundary never repeats or skips
            pages += 1
        return pages

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        reader = pool.submit(read_while_writing)
        list(pool.map(push, wanted))
        stop.set()
        assert reader.result() >= 1
    for replica in replicas:
        one = Alternating([replica])
        names = _page_all(one, "/v2/_catalog", "repositories", 5)
        assert [name for name in names if name.startswith("busy/")] == sorted(wanted)
        for repo, tags in wanted.items():
            assert _page_all(one, f"/v2/{repo}/tags/list", "tags", 3) == tags
