"""Host-side container networking: bridge networks as docker makes them.

    store, records           networks and leases in the data root (runtime/paths.py), one flock
    ipam                     an address per container, never shared, reused after release
    netns                    the container's network namespace, made or opened, entered briefly
    links                    netlink (pyroute2): bridge, veth pair, address, route, MTU
    nftrules, nftables       NAT and isolation in pyreg's own nft table; DNAT per port
    ports                    -p parsed, host ports reserved by binding
    hostsfile                /etc/hosts kept current per network; resolv.conf from the host's
    attach                   connect / disconnect / sweep: all or nothing, undone from records
    rootless                 pasta or slirp4netns for a container without root

A container's setup calls attach.connect before its first process starts
(the namespace is made first, as runc's and podman's callers do, and the
container joins it), and attach.disconnect when it ends; attach.sweep
clears what dead containers left. Nothing here runs inside the container.
"""
