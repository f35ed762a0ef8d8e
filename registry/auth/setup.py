"""Access control from configuration: Distribution's `auth` section in,
a ready controller out, or one line saying what is wrong.

    auth:
      htpasswd: {realm: basic-realm, path: /etc/registry/htpasswd}
    auth:
      token: {realm: https://auth/token, service: registry, issuer: issuer,
              rootcertbundle: /certs/bundle.pem}

Exactly one scheme. Robots (stored in the registry's storage) work with
either: as Basic passwords, or at the built-in issuer's `/token`. Which
other `auth` keys are refused is the configuration table's business; this
module only builds what it is given.
"""
from __future__ import annotations

from typing import Any, Mapping

from storage_backends.base import StorageDriver

from .accounts import Accounts
from .controllers import AccessController, BasicController, TokenController
from .errors import AuthError
from .htpasswd import HtpasswdFile
from .issuer import IssuerSettings, TokenIssuer, load_or_create_signing_key
from .robots import RobotStore
from .rules import RulesFile
from .throttle import FailureThrottle
from .tokens import TokenSettings, TokenValidator

SCHEMES = ("htpasswd", "token")


class AuthSetupError(AuthError, ValueError):
    """Configuration that cannot give a working access controller; one line."""


def _section(auth: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(auth, Mapping) or len(auth) != 1:
        raise AuthSetupError(f"auth must name exactly one of {', '.join(SCHEMES)}")
    (scheme, options), = auth.items()
    if scheme not in SCHEMES:
        raise AuthSetupError(f"auth.{scheme} is not supported (want {' or '.join(SCHEMES)})")
    if not isinstance(options, Mapping):
        raise AuthSetupError(f"auth.{scheme} must be a mapping")
    return scheme, options


def access_controller(auth: Mapping[str, Any], driver: StorageDriver,
                      issuer: TokenIssuer | None = None,
                      throttle: FailureThrottle | None = None,
                      robot_refresh: float = 2.0) -> AccessController:
    """The controller for `auth`; with the built-in `issuer`, its signing
    certificate is trusted besides `rootcertbundle`. A robot's revocation
    shows within `robot_refresh` seconds."""
    scheme, options = _section(auth)
    throttle = throttle if throttle is not None else FailureThrottle()
    try:
        if scheme == "htpasswd":
            return BasicController(_text(options, "realm", scheme),
                                   Accounts(HtpasswdFile(_text(options, "path", scheme)),
                                            RobotStore(driver, robot_refresh), throttle))
        settings = TokenSettings.from_mapping(options, keys_required=issuer is None)
        roots = [issuer.signing.certificate] if issuer else []
        return TokenController(TokenValidator.from_settings(settings, roots), throttle,
                               issuer.accounts.robots if issuer else None)
    except ValueError as err:  # a file, bundle or setting that cannot be used
        raise AuthSetupError(str(err)) from None


def _text(options: Mapping[str, Any], key: str, scheme: str) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value:
        raise AuthSetupError(f"auth.{scheme}.{key} must be a non-empty string")
    return value


def built_in_issuer(settings: IssuerSettings, htpasswd: str | None, rules: str | None,
                    driver: StorageDriver, throttle: FailureThrottle | None = None,
                    robot_refresh: float = 2.0) -> TokenIssuer:
    """pyreg's own token issuer: users from `htpasswd`, access from `rules`,
    robots from the storage."""
    try:
        signing = load_or_create_signing_key(settings.key_dir, settings.algorithm, settings.issuer)
        accounts = Accounts(HtpasswdFile(htpasswd) if htpasswd else None,
                            RobotStore(driver, robot_refresh), throttle)
        return TokenIssuer(settings, signing, accounts, RulesFile(rules) if rules else None)
    except ValueError as err:
        raise AuthSetupError(str(err)) from None
