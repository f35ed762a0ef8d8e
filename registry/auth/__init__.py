"""Access control for the registry: who may do what, decided before a handler runs.

From the bottom up (a module imports only those above it in this list):

    errors.py        AuthError, the base of every error raised here
    scopes.py        what a request needs (`repository:NAME:pull,push`, `registry:catalog:*`)
    grants.py        what a caller may do (a token's `access` claim, a robot's patterns,
                     or everything for an htpasswd user, as Distribution does)
    caller.py        the caller's grant as the middleware leaves it on a request
    challenge.py     the 401/403/429 answers with their `WWW-Authenticate` challenges
    audit.py         the log line of a refused attempt (never the secret)
    throttle.py      a bounded per-address delay after repeated failures
    watched.py       a file re-read when it changes, failing closed
    htpasswd.py      Basic credentials from an `htpasswd -B` file
    robots.py        robot credentials for CI, stored hashed in the registry's storage
    accounts.py      one check of a user name and password (htpasswd, then robots)
    jose.py          compact JWS: strict base64url and JSON, signatures (ES*, RS*, PS*, EdDSA)
    trust.py         the token signers trusted: root bundle, `kid`s, `x5c` chains, JWKS
    tokens.py        bearer token validation, with a cache of verified tokens
    controllers.py   Basic and Bearer access controllers: the one call a middleware makes
    middleware.py    that middleware, leaving the caller's grant on the request
    rules.py         the built-in issuer's access-rules file (users, groups, patterns)
    issuer.py        the built-in token issuer: signing key, access and refresh tokens
    token_server.py  `GET /token` (docker) and `POST /token` (OAuth2) as aiohttp handlers
    setup.py         Distribution's `auth` section in, a controller (or one line) out

Nothing here imports the handlers, the app or the store: the app mounts
these pieces; they do not reach into it. TLS material is `registry/tls.py` and
`registry/certificates.py`.
"""
