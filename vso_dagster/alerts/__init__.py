"""Alerts: a failed run, a failed check or an unhealthy production slice, told once to a webhook."""

from ..lib.naming import Naming
from ..lib.room import Room
from .sensors import alerts_sensor


def room(names: Naming, interval_s: int) -> Room:
    """`interval_s`: the project's [alerts] interval_seconds."""
    return Room(sensors=[alerts_sensor(names, interval_s)])


__all__ = ["room"]
