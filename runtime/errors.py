"""The runtime's expected failures, gathered so the command line can turn
each into one readable line (anything else is a bug and shows as one)."""
from __future__ import annotations

from ocispec.errors import OciError

from .container.bundle import BundleError
from .container.state import ContainerError
from .fs.beneath import UnsafeEntry
from .image.layerstream import LayerFormatError
from .image.resolve import ImageInvalid, ImageNotFound
from .inside.cgroups import CgroupError
from .inside.devices import DeviceError
from .inside.mounts import MountError
from .inside.process import StartError
from .inside.seccomp import SeccompError
from .spec.build import SpecError
from .spec.users import UserError

EXPECTED = (OciError, BundleError, CgroupError, ContainerError, DeviceError, ImageInvalid,
            ImageNotFound, LayerFormatError, MountError, SeccompError, StartError, SpecError,
            UnsafeEntry, UserError, OSError)
