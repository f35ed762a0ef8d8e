"""The shared OCI vocabulary: digests and the one Verifier, descriptors, media
types, manifests, references, error codes, image layouts, verified copies and
layers opened uncompressed. Standard library only (isal, when installed, only
speeds up gzip), so that every other package (server, client, runtime,
builder) can import it without pulling in aiohttp."""
