"""open_uncompressed: a layer's tar bytes from gzip (ISA-L's inflater or
zlib's), zstd (the real `zstd` program) or plain tar, and a one-line
LayerFormatError for what cannot be read."""
import gzip
import os
import shutil
import subprocess
import zlib

import pytest

from ocispec import mediatypes as mt
from ocispec import uncompressed
from ocispec.uncompressed import LayerFormatError, open_uncompressed

TAR = os.urandom(1 << 20) + bytes(3 << 20) + os.urandom(12345)  # several inflate steps


def read_all(path, media_type) -> bytes:
    with open_uncompressed(str(path), media_type) as stream:
        return b"".join(iter(lambda: stream.read(1 << 16), b""))


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    if request.param == "zlib":
        monkeypatch.setattr(uncompressed, "_inflate", zlib)
    elif uncompressed._inflate is zlib:
        pytest.skip("isal is not installed")
    return request.param


def test_gzip_members_and_zero_padding(tmp_path, inflater):
    path = tmp_path / "layer.tgz"
    path.write_bytes(gzip.compress(TAR[:1000]) + gzip.compress(TAR[1000:]) + bytes(512))
    assert read_all(path, mt.OCI_LAYER_GZIP) == TAR
    assert read_all(path, mt.DOCKER_LAYER_GZIP) == TAR


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_gzip_is_a_layer_format_error(tmp_path, inflater, damage):
    packed = gzip.compress(TAR)
    path = tmp_path / "layer.tgz"
    path.write_bytes(packed[:len(packed) // 2] if damage == "truncated" else packed[:20] + b"\xff" * 500)
    with pytest.raises(LayerFormatError, match="gzip"):
        read_all(path, mt.OCI_LAYER_GZIP)


def test_a_gzip_bomb_is_inflated_one_step_at_a_time(tmp_path):
    path = tmp_path / "bomb.tgz"
    path.write_bytes(gzip.compress(bytes(64 << 20)))  # 64 MiB from about 64 KiB
    with open_uncompressed(str(path), mt.OCI_LAYER_GZIP) as stream:
        assert len(stream.read(10)) == 10
        assert len(stream.buffer) <= uncompressed.STEP


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd program (bootstrap installs it)")
def test_zstd_through_the_zstd_program(tmp_path):
    plain = tmp_path / "layer.tar"
    plain.write_bytes(TAR)
    subprocess.run(["zstd", "-q", "-o", str(tmp_path / "layer.zst"), str(plain)], check=True)
    assert read_all(tmp_path / "layer.zst", mt.OCI_LAYER_ZSTD) == TAR
    (tmp_path / "bad.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 100)
    with pytest.raises(LayerFormatError, match="zstd"):
        read_all(tmp_path / "bad.zst", mt.OCI_LAYER_ZSTD)


@pytest.mark.parametrize("media_type", [mt.OCI_LAYER, mt.DOCKER_LAYER])
def test_plain_tar_is_read_as_it_is(tmp_path, media_type):
    (tmp_path / "layer.tar").write_bytes(TAR)
    assert read_all(tmp_path / "layer.tar", media_type) == TAR


def test_a_media_type_that_is_no_layer_is_refused(tmp_path):
    (tmp_path / "config").write_bytes(b"{}")
    with pytest.raises(LayerFormatError, match="unsupported layer media type"):
        read_all(tmp_path / "config", mt.OCI_CONFIG)
