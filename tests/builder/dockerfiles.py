"""The Dockerfiles the build tests share, with their contexts: one that
uses every instruction and most options (built by pyreg, docker's BuildKit
and buildah alike, so nothing in it needs the network or a pyreg-only
feature), and the child that triggers its ONBUILD."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.builder.builds import write_context

ALL_INSTRUCTIONS = r"""# a comment before the first instruction
ARG BASE=busybox
FROM ${BASE} AS base
ARG GREETING=hello
ENV APP_HOME=/srv/app \
    MODE="prod mode"
ENV OLD_STYLE value with spaces
LABEL org.example.title="all instructions" version=1
LABEL multi="a b" \
      second=2
EXPOSE 80 443/tcp 53/udp
VOLUME /data
VOLUME ["/cache"]
WORKDIR $APP_HOME
WORKDIR sub
COPY files/ ./files/
COPY *.txt /srv/texts/
COPY a.txt /srv/renamed
COPY --chown=app:app owned.txt /srv/owned/
COPY --chown=1000:50 owned.txt /srv/owned-numeric.txt
COPY --chmod=0640 secret.txt /srv/secret.txt
COPY link-to-a /srv/via-link/
ADD archive.tar.gz /srv/gz/
ADD archive.tar.bz2 /srv/bz2/
ADD archive.tar.xz /srv/xz/
ADD archive.tar /srv/plain/
ADD a.txt /srv/added-a.txt
# deletions, links, owners and modes, made by RUN
RUN mkdir -p /srv/made && echo "${GREETING:-hi} ${MISSING:-default} ${GREETING:+set}" > /srv/made/words \
 && ln -s words /srv/made/symlink && ln /srv/made/words /srv/made/hardlink \
 && chown 1000:1000 /srv/made/words && chmod 0600 /srv/made/words
RUN rm /srv/renamed && rm -rf /home/app && mkdir /home/app && echo fresh > /home/app/f
RUN ["/bin/sh", "-c", "echo exec-form > /srv/exec"]
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "env: $MODE $OLD_STYLE $GREETING" > /srv/env
USER app
RUN id -u > /tmp/uid && pwd > /tmp/pwd
USER root
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=30s --timeout=5s --start-period=2s --retries=4 CMD ["/bin/true"]
ONBUILD RUN echo triggered > /srv/onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hello"]
"""

# what the Dockerfile above leaves out, or what docker 20.10's BuildKit would fetch from the
# network (`# syntax=`): built by pyreg alone
OTHER_OPTIONS = r"""# syntax=docker/dockerfile:1
# escape=`
ARG BASE=busybox
FROM --platform=$BUILDPLATFORM ${BASE}
MAINTAINER someone@example.com
ARG UID=1000
ARG TARGETPLATFORM
ENV TARGET=$TARGETPLATFORM
EXPOSE 8000-8002/tcp
COPY --link --chown=${UID}:50 --chmod=750 tool.sh /opt/
RUN echo "proxy=$HTTP_PROXY" > /proxy && `
    echo continued >> /proxy
HEALTHCHECK NONE
USER ${UID}:50
ENTRYPOINT echo "$TARGET"
CMD ignored
"""

CHILD = """FROM all-instructions:1
RUN cat /srv/onbuild > /srv/seen
"""

DOCKERIGNORE = "**/*.log\n!files/keep.log\n/top-only.tmp\nfiles/skip/\n"


def all_instructions_context(path: Path) -> Path:
    files = {"a.txt": "a\n", "b.txt": "b\n", "owned.txt": "owned\n", "secret.txt": "secret\n",
             "files/x.log": "x\n", "files/keep.log": "keep\n", "top-only.tmp": "t\n",
             "files/top-only.tmp": "t2\n", "files/skip/s": "s\n", "files/sub/deep": "deep\n",
             ".dockerignore": DOCKERIGNORE}
    write_context(path, ALL_INSTRUCTIONS, files)
    os.symlink("a.txt", path / "link-to-a")
    archive = path / "arch"
    (archive / "inner").mkdir(parents=True)
    (archive / "inner" / "file").write_text("in\n")
    os.symlink("file", archive / "inner" / "lnk")
    for name, flags, members in (("archive.tar.gz", "-czf", "."), ("archive.tar.bz2", "-cjf", "inner"),
                                 ("archive.tar.xz", "-cJf", "inner"), ("archive.tar", "-cf", "inner")):
        subprocess.run(["tar", "-C", str(archive), flags, str(path / name), members], check=True)
    subprocess.run(["rm", "-rf", str(archive)], check=True)
    return path
