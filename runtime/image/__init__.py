"""The image side: an image name to unpacked, verified snapshot
directories (resolution through puller.store, the snapshot cache, layer
streams, safe extraction)."""
