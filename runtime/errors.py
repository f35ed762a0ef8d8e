"""The runtime's expected failures, gathered so the command line can turn
each into one readable line (anything else is a bug and shows as one)."""
from __future__ import annotations

from ocispec.errors import OciError

from .bundle import BundleError
from .cgroups import CgroupError
from .container import ContainerError
from .devices import DeviceError
from .image import ImageInvalid, ImageNotFound
from .layerstream import LayerFormatError
from .mounts import MountError
from .process import StartError
from .seccomp import SeccompError
from .spec import SpecError
from .tarsafe import UnsafeEntry
from .users import UserError

EXPECTED = (OciError, BundleError, CgroupError, ContainerError, DeviceError, ImageInvalid,
            ImageNotFound, LayerFormatError, MountError, SeccompError, StartError, SpecError,
            UnsafeEntry, UserError, OSError)
