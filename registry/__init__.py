"""The registry server: the OCI distribution API (v1.1) over storage in
CNCF Distribution's `registry:2` layout. `app.make_app(config)` builds the
aiohttp application; `server.serve(config, workers)` runs it."""
