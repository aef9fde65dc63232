"""The one place YAML readers and writers are made: the fast safe loader for reading, the round-trip one where a
producer's file is edited (it keeps comments, quotes and order)."""

from __future__ import annotations

from functools import lru_cache

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

__all__ = ["MarkedYAMLError", "YAMLError", "round_trip", "safe"]


@lru_cache(maxsize=2)
def safe(*, pure: bool = False) -> YAML:
    """libyaml-backed unless `pure`: for reading only."""
    return YAML(typ="safe", pure=pure)


def round_trip(*, preserve_quotes: bool = False) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = preserve_quotes
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    # a str subclass with no representer of its own (radio.station.Week) is written as the plain string
    y.representer.add_multi_representer(str, type(y.representer).represent_str)
    return y
