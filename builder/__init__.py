"""pyreg build: from a Dockerfile and a context directory to an image.

The pure core lives here: the Dockerfile parser (lines -> words ->
instructions), variable substitution and ARG/ENV scopes, the stage plan,
.dockerignore and the context walker, layer writers, cache keys and the image
config assembly. Pulling bases and running RUN steps sit on top of it.
"""
