"""registry:2 notifications: settings, the event envelope, an on-disk queue
per endpoint and its delivery worker, and the middleware that publishes."""
from .lookup import StoreLookup
from .middleware import events_middleware
from .notifier import Notifier
from .settings import EndpointSettings, NotificationSettings, NotificationsConfigError, parse_notifications

__all__ = ["EndpointSettings", "NotificationSettings", "NotificationsConfigError", "Notifier", "StoreLookup",
           "events_middleware", "parse_notifications"]
