"""The spec side: the OCI runtime spec (`config.json`) as a pure function of
the image's configuration and the user's options. Needs no root to test."""
