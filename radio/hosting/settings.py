"""[publish] and [broadcaster] in radio.toml: where the week goes, typed so every error names its key."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TARGET_RE = re.compile(r"(s3|sftp|file)://\S+|/\S*")
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
DURATION_RE = re.compile(r"(\d+)\s*([smhd])")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_retention(value: str | int) -> int:
    """'7d', '12h', '30m', '0s' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    m = DURATION_RE.fullmatch(str(value).strip())
    if not m:
        raise ValueError(f"{value!r} is not a duration (write e.g. 7d, 12h, 30m or 0s)")
    return int(m.group(1)) * UNITS[m.group(2)]


def check_target_url(v: str) -> str:
    if not TARGET_RE.fullmatch(v):
        raise ValueError(f"{v!r} is not a target (s3://bucket/prefix, sftp://host/path, or an absolute "
                         "directory path)")
    return v


class Target(_Model):
    """One place the publish tree goes. `url` names it; `public_url` is where listeners reach that copy."""

    name: str
    url: str
    public_url: str | None = None  # default: [podcast] base_url (the primary copy)
    endpoint: str | None = None  # S3: default AWS_ENDPOINT_URL, else AWS itself
    region: str | None = None  # S3: default AWS_REGION / AWS_DEFAULT_REGION, else us-east-1
    path_style: bool = True  # S3: bucket in the path, as MinIO, Garage and SeaweedFS want
    user: str | None = None  # SFTP: default the user in the URL, else the login name
    key: str | None = None  # SFTP: the private key, a path under private/
    known_hosts: str | None = None  # SFTP: default private/known_hosts, else ~/.ssh/known_hosts

    _url = field_validator("url")(classmethod(lambda cls, v: check_target_url(v)))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a target name (lower-case letters, digits and '-')")
        return v

    @field_validator("public_url", "endpoint")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return None if v is None else v.rstrip("/") + "/"


class Publish(_Model):
    targets: list[Target] = Field(default_factory=list)
    retention: Annotated[int, Field(ge=0)] = 7 * 86400  # seconds an unnamed file stays on a target
    hub: str | None = None  # a WebSub hub: named in the feed and pinged after each upload

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, v):
        return parse_retention(v)

    @field_validator("hub")
    @classmethod
    def _hub(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @model_validator(mode="after")
    def _unique(self) -> Publish:
        names = [t.name for t in self.targets]
        for n in names:
            if names.count(n) > 1:
                raise ValueError(f"publish.targets: the name {n!r} is used twice")
        return self

    @property
    def mirrors(self) -> list[Target]:
        """Targets that serve their copy at their own address: each is an alternate source for every episode."""
        return [t for t in self.targets if t.public_url]


class Broadcaster(_Model):
    """Where and how the on-air master goes to the station that plays it."""

    target: str
    name: str = "{SHOW}_{date:%Y%m%d}.wav"  # {SHOW}: the slug in capitals without '-'; {date}: the air date
    format: Literal["bwf", "mp2", "mp3"] = "bwf"
    bitrate: Annotated[int, Field(ge=32, le=384)] = 256  # kbit/s, for mp2 and mp3
    channels: Literal[1, 2] = 2
    user: str | None = None
    key: str | None = None
    known_hosts: str | None = None

    _url = field_validator("target")(classmethod(lambda cls, v: check_target_url(v)))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if "/" in v or v.startswith(".") or not re.fullmatch(r"[\w{}:%.\-]+", v):
            raise ValueError(f"{v!r} is not a file name rule (letters, digits, _ - . and {{SHOW}} {{date:%Y%m%d}})")
        return v
