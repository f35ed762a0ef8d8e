"""pyreg build: from a Dockerfile and a context directory to an image in the
local store. Above the client (it pulls bases, pushes results) and the
runtime (it runs RUN steps and reads snapshots); only the command line
imports it. Its files import one another downward only:

    build.py        a BuildRequest to a stored, pushed, exported image
    stage.py        one stage: its base, ONBUILD triggers, each instruction
    steps.py        the steps that write layers: RUN, COPY/ADD, WORKDIR
    runstep.py      a RUN's container, supervised, and Ctrl-C   | mountpoints.py
    session.py      what the steps share; the cache lookups     | image.py, bases.py
    view.py         a stage's files from its snapshots          | registries.py, hashes.py

and the pure core under them: the parser (lines -> words -> keywords ->
instructions), substitution and ARG/ENV scopes, the stage plan,
.dockerignore and the context walker, layer writers (tarstream, copylayer,
layer, blobs), cache keys and records, the image config assembly.
"""
