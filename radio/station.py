"""The station: its directory, its config, the weeks and the paths inside it; creating one; the private register
of correspondents (read only by the desk)."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from unidecode import unidecode

from radio import fsutil, yamlio
from radio.config import CONFIG_NAME, PRIVATE_DIR, Config, Edition, load_config
from radio.errors import ConfigError, RadioError, yaml_problem

PODCAST_NS = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")  # the Podcast Index namespace for podcast:guid
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Week(str):
    """An ISO week such as 2026-W47, checked where it enters (the command line) and carried as the string."""

    year: int
    number: int

    def __new__(cls, text: str) -> Week:
        if isinstance(text, Week):
            return text
        m = WEEK_RE.match(text or "") if isinstance(text, str) else None
        if not m:
            raise RadioError(f"{text!r} is not an ISO week", fix="write it as YYYY-Www, e.g. 2026-W47")
        year, num = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, num, 1)
        except ValueError:
            raise RadioError(f"{text!r} is not an ISO week: {year} has no week {num}",
                             fix="pick a week from 01 to 52 (53 in long years)") from None
        week = super().__new__(cls, text)
        week.year, week.number = year, num
        return week

    def day(self, weekday: int = 1) -> dt.date:
        """The date of a day of this week (1 = Monday)."""
        return dt.date.fromisocalendar(self.year, self.number, weekday)


GUIDS_NAME = "podcast-guids.toml"
EPISODES_DIR, OUT_DIR, FEEDS_DIR = "episodes", "out", "feeds"
REPORTS_DIR, HISTORY_DIR, SEGMENTS_DIR = "reports", "history", "segments"
BUILD_LOCK, RECORDED_LOCK = ".build.lock", ".recorded.lock"
PUBLIC_IDS_LOCK = ".public-ids.lock"
GUIDS_HEADER = ("# podcast:guid of each feed, keyed by its slug: fixed at the feed's first publish and committed with\n"
                "# the station. Podcast apps know the show by it; do not edit or delete a line.\n")


def url_guid(feed_url: str) -> uuid.UUID:
    return uuid.uuid5(PODCAST_NS, re.sub(r"^[a-z]+://", "", feed_url).rstrip("/"))


def stored_guids(root: Path) -> dict[str, uuid.UUID]:
    path = root / GUIDS_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return {str(k): uuid.UUID(str(v)) for k, v in data.items()}
    except (tomllib.TOMLDecodeError, ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"not a table of feed slugs and GUIDs ({e})", where=path,
                          fix="restore it from version control: the GUIDs must not change") from None


def guids_text(guids: dict[str, uuid.UUID]) -> str:
    return GUIDS_HEADER + "".join(f'{slug} = "{g}"\n' for slug, g in sorted(guids.items()))


def parse_week(week: str) -> tuple[int, int]:
    w = Week(week)
    return w.year, w.number


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding a radio.toml, as git finds its repository."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


# the audio report's page and its images, each master's waveform and loudness as PNG and SVG
AUDIO_REPORT_PARTS = (".html", *(f"-{m}.{x}" for m in ("onair", "podcast") for x in ("png", "svg")))


@dataclass(frozen=True)
class Station:
    """A station directory and its config. Every path a user names resolves inside it."""

    root: Path
    config: Config
    edition: Edition | None = None  # None: the primary edition, [show] and [[hosts]], with today's paths
    base_config: Config | None = None  # the whole radio.toml, when this is another edition's view

    @classmethod
    def open(cls, root: str | Path | None = None) -> Station:
        """The station at `root` (or $RADIO_STATION); without either, the nearest one at or above the current
        directory."""
        named = root or os.environ.get("RADIO_STATION")
        if named:
            base = Path(named).resolve()
        else:
            here = Path.cwd().resolve()
            base = find_root(here) or here
        return cls(base, load_config(base / CONFIG_NAME))

    def path(self, rel: str | Path, *, what: str = "path") -> Path:
        """Resolve a user-named path inside the station, or refuse."""
        p = Path(rel)
        if p.is_absolute() or ".." in p.parts:
            raise RadioError(f"{what} {str(rel)!r} leaves the station directory",
                             fix="name a path inside the station, without '..' or a leading '/'")
        full = (self.root / p).resolve()
        if not full.is_relative_to(self.root):
            raise RadioError(f"{what} {str(rel)!r} leaves the station directory",
                             fix="name a path inside the station")
        return full

    def week_dir(self, week: str) -> Path:
        return self.root / EPISODES_DIR / Week(week)

    def out_dir(self, week: str) -> Path:
        return self.edition_dir(week) / OUT_DIR

    def audio_report(self, week: str, part: str = ".html") -> Path:
        """The producers' page of the masters (never published); `part` one of AUDIO_REPORT_PARTS: the page, or
        one of its images."""
        return self.out_dir(week) / f"audio-report{part}"

    def republished_dir(self, week: str) -> Path:
        """The podcast as published after a retraction cut, beside the masters as broadcast (never over them)."""
        return self.out_dir(week) / "republished"

    # --- editions: one week, several languages ---
    @property
    def full_config(self) -> Config:
        return self.base_config or self.config

    @property
    def edition_id(self) -> str:
        return self.edition.id if self.edition else self.config.station.language.lower()

    @property
    def language(self) -> str:
        return self.config.station.language

    @property
    def primary_language(self) -> str:
        return self.full_config.station.language

    @property
    def on_air(self) -> bool:
        return self.edition.on_air if self.edition else True

    def edition_dir(self, week: str) -> Path:
        """Where this edition's rundown, segments and out/ live: the week itself for the primary edition."""
        return self.week_dir(week) / self.edition.id if self.edition else self.week_dir(week)

    def editions(self) -> list[Station]:
        """Every edition of the station, the primary first."""
        base = self.full_config
        primary = Station(self.root, base)
        return [primary, *(Station(self.root, base.for_edition(e), e, base) for e in base.editions)]

    def for_edition(self, edition_id: str | None) -> list[Station]:
        """The edition named by --edition, or every edition when none is named."""
        every = self.editions()
        if edition_id is None:
            return every
        for s in every:
            if s.edition_id == edition_id:
                return [s]
        raise RadioError(f"no edition {edition_id!r}",
                         where=self.root / CONFIG_NAME,
                         fix=f"use one of: {', '.join(s.edition_id for s in every)}")

    def weeks(self) -> list[str]:
        ep = self.root / EPISODES_DIR
        return sorted(p.name for p in ep.iterdir() if p.is_dir() and WEEK_RE.match(p.name)) if ep.is_dir() else []

    def air_datetime(self, week: str) -> dt.datetime:
        """The week's broadcast start, in the show's time zone."""
        show = self.config.show
        day = Week(week).day(WEEKDAYS.index(show.air_weekday) + 1)
        hh, mm = (int(x) for x in show.air_time.split(":"))
        return dt.datetime.combine(day, dt.time(hh, mm), zoneinfo.ZoneInfo(show.timezone))

    # --- where things are published; stable so GUIDs never change ---
    @property
    def show_url(self) -> str:
        return f"{self.config.podcast.base_url}{self.config.show.slug}/"

    @property
    def feed_url(self) -> str:
        return f"{self.show_url}feed.xml"

    @property
    def url_feed_guid(self) -> uuid.UUID:
        """The podcast:guid the current feed URL gives: UUIDv5 of the URL without its scheme and trailing slashes."""
        return url_guid(self.feed_url)

    def stored_feed_guid(self, slug: str | None = None) -> uuid.UUID | None:
        return stored_guids(self.root).get(slug or self.config.show.slug)

    @property
    def feed_guid(self) -> uuid.UUID:
        """podcast:guid: the one stored (GUIDS_NAME) at the feed's first publish; until then, the URL's.

        Apps know a show by it, so it never follows a later change of base_url."""
        return self.stored_feed_guid() or self.url_feed_guid

    def episode_guid(self, week: str) -> str:
        return str(uuid.uuid5(self.feed_guid, week))

    def episode_url(self, week: str) -> str:
        return f"{self.show_url}episodes/{week}/"

    def media_name(self, week: str, digest: str) -> str:
        """The episode's MP3 in media/: named for its content, so a new master never replaces the bytes of one an
        older feed still names (with its length) until the new feed is in place."""
        return f"{self.config.show.slug}-{week}-{digest[:12]}.mp3"

    # --- where everything is: every path and lock of a station is spelled here, and .gitignore follows ---
    @property
    def private_dir(self) -> Path:
        return self.root / PRIVATE_DIR

    def reports_dir(self, week: str) -> Path:
        """The week's desk: reports and their translations, shared by every edition."""
        return self.week_dir(week) / REPORTS_DIR

    def report_lock_path(self, report: Path) -> Path:
        """The lock a desk command holds while it changes one report: beside it, hidden, never committed."""
        return report.with_name(f".{report.stem}.lock")

    def history_dir(self, week: str) -> Path:
        return self.week_dir(week) / HISTORY_DIR

    def segments_dir(self, week: str) -> Path:
        """This edition's takes, as the hosts recorded them."""
        return self.edition_dir(week) / SEGMENTS_DIR

    def drafts_dir(self, week: str) -> Path:
        """Read-throughs made for a draft build."""
        return self.out_dir(week) / "drafts"

    @property
    def feeds_dir(self) -> Path:
        """Everything published, every edition's feed and site."""
        return self.root / FEEDS_DIR

    @property
    def publish_root(self) -> Path:
        """This edition's feed, site and media."""
        return self.feeds_dir / self.config.show.slug

    def published_record(self, week: str) -> Path:
        """Written when a week is published: its presence says the week went out."""
        return self.publish_root / "episodes" / week / "episode.json"

    @property
    def bulletin_root(self) -> Path:
        return self.publish_root / "bulletin"

    @property
    def build_lock_path(self) -> Path:
        return self.root / EPISODES_DIR / BUILD_LOCK

    @property
    def recorded_lock_path(self) -> Path:
        return self.root / EPISODES_DIR / RECORDED_LOCK

    @property
    def publish_lock_path(self) -> Path:
        return self.feeds_dir / f".{self.config.show.slug}.lock"

    @property
    def bulletin_lock_path(self) -> Path:
        return self.feeds_dir / f".{self.config.show.slug}.bulletin.lock"

    @property
    def public_ids_lock_path(self) -> Path:
        """Held while public ids are recorded (radio/publicid.py): beside the record, never committed."""
        return self.root / PUBLIC_IDS_LOCK

    @property
    def intake_lock_path(self) -> Path:
        return self.private_dir / "intake" / ".lock"

    def send_lock_path(self, week: str) -> Path:
        return self.private_dir / "send" / f".{week}.lock"

    def element_path(self, name: str) -> Path:
        el = self.config.elements.get(name)
        if el is None:
            raise RadioError(f"element {name!r} is not in radio.toml [elements]",
                             fix=f"add [elements.{name}] or use one of: {', '.join(sorted(self.config.elements))}")
        return published_path(self, el.file, what=f"elements.{name}.file")


def published_path(station: Station, rel: str | Path, *, what: str) -> Path:
    """A file that goes out (cover, station sounds): inside the station, and never under private/, even
    through a link."""
    path = station.path(rel, what=what)
    if path.is_relative_to(station.private_dir.resolve()):
        raise RadioError(f"{what} {str(rel)!r} is under {PRIVATE_DIR}/, which is never published",
                         fix=f"move the file out of {PRIVATE_DIR}/ and name it in radio.toml")
    return path


# --- creating a station, and the register of correspondents -----------------------------------------

def gitignore() -> str:
    """What `radio init` keeps out of version control, from the same names the paths above are made of: the
    identities of correspondents, everything generated (each edition's out/ too) and every lock beside the data."""
    lines = [f"{PRIVATE_DIR}/",
             f"{EPISODES_DIR}/*/{OUT_DIR}/",  # the station's own edition
             f"{EPISODES_DIR}/*/*/{OUT_DIR}/",  # every other edition's, under its id
             f"{EPISODES_DIR}/{BUILD_LOCK}",
             f"{EPISODES_DIR}/{RECORDED_LOCK}",
             PUBLIC_IDS_LOCK,
             f"{EPISODES_DIR}/*/{REPORTS_DIR}/.*.lock",
             f"{EPISODES_DIR}/.index.sqlite*",  # the desk's index (radio/index.py), rebuilt from the reports
             f"{FEEDS_DIR}/"]
    return "# Never in version control: identities of correspondents, and everything generated.\n" + \
        "".join(f"{line}\n" for line in lines)


def init_station(root: Path) -> Path:
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise RadioError("a station already exists here", where=root / CONFIG_NAME,
                         fix="pick an empty directory, or edit the existing radio.toml")
    slug = re.sub(r"[^a-z0-9]+", "-", unidecode(root.name).lower()).strip("-") or "show"  # any script
    template = (Path(__file__).parent / "templates" / "radio.toml").read_text(encoding="utf-8")
    text = template.replace("{name}", root.name or "Station").replace("{title}", root.name or "Show") \
        .replace("{slug}", slug[:64].strip("-"))
    for sub in ("elements", EPISODES_DIR, FEEDS_DIR, "templates"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    fsutil.private_dirs(root / PRIVATE_DIR)
    fsutil.write_text(root / ".gitignore", gitignore())
    fsutil.write_text(root / "private" / "correspondents.yaml", private=True, text=
                      "# pseudonym: {name: ..., contact: ..., email: [addresses radio intake takes reports from],\n"
                      "#             attribution: public line, region: public region}  (PRIVATE: never published)\n{}\n")
    fsutil.write_text(root / CONFIG_NAME, text)
    Station.open(root)  # what we wrote must load
    return root


def correspondents(station: Station) -> dict:
    from radio.keys import store  # the register is encrypted to the editors on a sealed station
    path = store.where(station, "correspondents.yaml")
    try:
        text = store.read_text(station, "correspondents.yaml", "reading the correspondents' register")
        if text is None:
            return {}
        data = yamlio.safe().load(text)
    except yamlio.MarkedYAMLError as e:  # the register is private: name the line, never quote it
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise RadioError(f"cannot read the correspondents register: {yaml_problem(e)}",
                         where=f"{path}:{line}" if line else path, fix="fix the YAML on that line") from None
    except (yamlio.YAMLError, UnicodeDecodeError, ValueError):
        raise RadioError("cannot read the correspondents register", where=path, fix="fix the YAML") from None
    return data if isinstance(data, dict) else {}


def correspondent(station: Station, pseudonym: str | None) -> str | None:
    if not pseudonym:
        return None
    rec = correspondents(station).get(pseudonym)
    if not isinstance(rec, dict):
        return None
    return ", ".join(f"{k} {v}" for k, v in rec.items() if v)
