"""locator: a service-station locator for drivers and the unions that build stations for them."""

__version__ = "0.1.0"
