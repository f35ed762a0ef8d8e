"""The shared OCI vocabulary: digests, descriptors, media types, manifests,
references and error codes. Standard library only, so that every other
package (server, client, runtime) can import it without pulling in aiohttp."""
