"""Where the registry keeps bytes. Backends know nothing of OCI: keys are
opaque '/'-separated strings chosen by the registry's path module."""
from .base import BlobWriter, FileInfo, InvalidKey, PathNotFound, StorageDriver, StorageError, StorageFull

__all__ = ["BlobWriter", "FileInfo", "InvalidKey", "PathNotFound", "StorageDriver", "StorageError",
           "StorageFull"]
