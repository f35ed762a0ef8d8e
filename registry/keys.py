"""Typed application state (aiohttp `web.AppKey`s)."""
from __future__ import annotations

from aiohttp import web

from .config import RegistryConfig
from .store import RegistryStore
from .urls import UrlBuilder

CONFIG = web.AppKey("config", RegistryConfig)
STORE = web.AppKey("store", RegistryStore)
URLS = web.AppKey("urls", UrlBuilder)
