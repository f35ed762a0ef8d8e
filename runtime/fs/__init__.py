"""The filesystem side: writing beneath a directory without leaving it,
whiteouts as overlayfs reads them, and a container's root filesystem."""
