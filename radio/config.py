"""The typed radio.toml: every error names the file, the key and the fix."""

from __future__ import annotations

import difflib
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Callable, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from radio.errors import ConfigError, from_validation
from radio.hosting.settings import Broadcaster, Publish

CONFIG_NAME = "radio.toml"
ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
SECTIONS = ("welcome", "headlines", "news", "features", "appeals", "closing")


def parse_duration_ms(value: str | int | float) -> int:
    """'28:30', '1:02:03', '90', '90.5' or a number of seconds -> integer milliseconds."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return round(value * 1000)
    text = str(value).strip()
    m = re.fullmatch(r"(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d{1,3})?)", text)
    if not m:
        raise ValueError(f"{text!r} is not a duration (write MM:SS or H:MM:SS, e.g. 28:30)")
    a, b, s = m.groups()
    hours, minutes = (int(a), int(b)) if b is not None else (0, int(a or 0))
    if b is not None or a is not None:
        if float(s) >= 60 or (b is not None and minutes >= 60):
            raise ValueError(f"{text!r} is not a duration (seconds and minutes run 0-59)")
    return round(((hours * 60 + minutes) * 60 + float(s)) * 1000)


def format_ms(ms: int, *, signed: bool = False) -> str:
    """Milliseconds as M:SS (or H:MM:SS), rounded to the second, as a studio clock shows them."""
    sign = "-" if ms < 0 else ("+" if signed else "")
    total = (abs(ms) + 500) // 1000
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"


def _matches_id(what: str) -> Callable[[str], str]:
    def check(v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(f"{v!r} is not {what} (lower-case letters, digits and '-')")
        return v
    return check


Id = Annotated[str, AfterValidator(_matches_id("an id"))]
Slug = Annotated[str, AfterValidator(_matches_id("a slug"))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PRIVATE_DIR = "private"


def not_private(value: str) -> str:
    """A file that is published (cover, station sounds) may not live under private/."""
    parts = [p for p in re.split(r"[\\/]+", value.strip()) if p not in ("", ".")]
    if parts and parts[0].casefold() == PRIVATE_DIR:
        raise ValueError(f"{value!r} is under {PRIVATE_DIR}/, which is never published; move the file out of "
                         f"{PRIVATE_DIR}/")
    return value


class StationInfo(_Model):
    name: str
    website: str = ""
    owner: str
    email: str
    language: str = "en"

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError(f"{v!r} is not an e-mail address")
        return v


class Host(_Model):
    id: Id
    name: str
    language: str = "en"
    rate_wpm: Annotated[float, Field(gt=40, lt=400)] = 165.0
    voice: str = "en"


class Show(_Model):
    title: str
    slug: Slug
    description: str
    slot: str = "28:30"
    air_weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "friday"
    air_time: str = "18:00"
    timezone: str = "UTC"
    format: list[str] = Field(default_factory=lambda: ["element:theme", "welcome", "headlines", "news",
                                                      "features", "appeals", "closing", "element:theme"])
    feature_kinds: list[str] = Field(default_factory=lambda: ["feature", "interview"])
    bed: str | None = None  # the bed under read items that do not name one
    max_fill: str = "2:00"  # the most of the slot filler may fill before a build refuses (unless --allow-under)

    @field_validator("slot")
    @classmethod
    def _slot(cls, v: str) -> str:
        if parse_duration_ms(v) <= 0:
            raise ValueError("the slot must be longer than zero")
        return v

    @field_validator("max_fill")
    @classmethod
    def _max_fill(cls, v: str) -> str:
        parse_duration_ms(v)
        return v

    @property
    def max_fill_ms(self) -> int:
        return parse_duration_ms(self.max_fill)

    @field_validator("air_time")
    @classmethod
    def _air_time(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"{v!r} is not a time of day (write HH:MM, e.g. 18:00)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a time zone (use an IANA name such as Europe/Berlin)") from None
        return v

    @field_validator("format")
    @classmethod
    def _format(cls, v: list[str]) -> list[str]:
        for s in v:
            if s not in SECTIONS and not re.fullmatch(r"element:[a-z0-9-]+", s):
                raise ValueError(f"{s!r} is not a section (use {', '.join(SECTIONS)} or element:NAME)")
        return v

    @property
    def slot_ms(self) -> int:
        return parse_duration_ms(self.slot)


class Verification(_Model):
    min_checks: Annotated[int, Field(ge=1, le=10)] = 2
    # people: checks by different people; methods: by different methods; either: one or the other; both: both
    distinct: Literal["people", "methods", "either", "both"] = "either"


APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies", "Home & Garden",
                "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary", "Politics", "Sports News",
             "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion",
                                "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics", "Natural Sciences",
                "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey", "Rugby",
               "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}


class Podcast(_Model):
    base_url: str
    cover: str = "elements/cover.png"
    category: str = "News"
    subcategory: str | None = "Politics"
    explicit: bool = False
    author: str
    type: Literal["episodic", "serial"] = "episodic"
    bitrate: Literal[96, 112, 128] = 128
    chapter_types: list[Literal["read", "recorded", "element", "bed"]] = Field(
        default_factory=lambda: ["read", "recorded"])
    funding_url: str | None = None  # the station's support page: podcast:funding, and a link on every page
    funding_text: Annotated[str, Field(min_length=1, max_length=128)] = "Support the station"
    txt: dict[str, Annotated[str, Field(min_length=1, max_length=4000)]] = Field(default_factory=dict)  # podcast:txt

    @field_validator("funding_url")
    @classmethod
    def _funding(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    _cover = field_validator("cover")(classmethod(lambda cls, v: not_private(v)))

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/") + "/"

    @model_validator(mode="after")
    def _category(self) -> Podcast:
        if self.category not in APPLE_CATEGORIES:
            close = difflib.get_close_matches(self.category, list(APPLE_CATEGORIES), n=1)
            raise ValueError(f"podcast.category: {self.category!r} is not an Apple Podcasts category"
                             + (f" (did you mean {close[0]!r}?)" if close else ""))
        subs = APPLE_CATEGORIES[self.category]
        if self.subcategory is not None and self.subcategory not in subs:
            raise ValueError(f"podcast.subcategory: {self.subcategory!r} is not under {self.category!r}"
                             + (f" (use one of: {', '.join(subs)})" if subs else " (it has no subcategories)"))
        return self


class Loudness(_Model):
    """Targets and every tolerance the masters are held to (LUFS, LU, dBTP, dB)."""
    onair_lufs: Annotated[float, Field(ge=-40, le=-10)] = -23.0
    onair_true_peak: Annotated[float, Field(ge=-10, le=0)] = -1.0
    onair_tolerance: Annotated[float, Field(gt=0, le=3)] = 0.5  # LU either side of onair_lufs
    podcast_lufs: Annotated[float, Field(ge=-30, le=-10)] = -16.0
    podcast_true_peak: Annotated[float, Field(ge=-10, le=0)] = -1.0
    podcast_tolerance: Annotated[float, Field(gt=0, le=3)] = 0.5  # LU either side of podcast_lufs
    speech_tolerance: Annotated[float, Field(gt=0, le=6)] = 1.0  # LU a speech item may stray from the target
    master_gain_max: Annotated[float, Field(gt=0, le=20)] = 1.0  # dB the on-air mix may need to reach its target
    onair_ceiling_margin: Annotated[float, Field(ge=0, le=3)] = 0.3  # dB the limiter stays under the peak limit
    podcast_ceiling_margin: Annotated[float, Field(ge=0, le=3)] = 1.0  # more for MP3: coding adds peaks
    aim: Annotated[float, Field(gt=0, le=0.5)] = 0.05  # LU off target that has the on-air master re-gained
    true_peak_window: Annotated[float, Field(gt=0, le=6)] = 1.5  # dB under the loudest a block is oversampled

    @model_validator(mode="after")
    def _order(self) -> Loudness:
        if self.podcast_lufs < self.onair_lufs:
            raise ValueError("loudness.podcast_lufs: the podcast is made louder than on air, not quieter "
                             f"({self.podcast_lufs:g} < {self.onair_lufs:g})")
        return self


class Compressor(_Model):
    """The podcast's speech compressor, ahead of its true-peak limiter."""
    threshold: Annotated[float, Field(ge=0, le=30)] = 6.0  # dB of peak above the speech target's loudness
    ratio: Annotated[float, Field(ge=1, le=10)] = 4.0
    knee: Annotated[float, Field(ge=0, le=20)] = 6.0  # dB
    window: Annotated[float, Field(ge=0.001, le=0.2)] = 0.01  # s over which the detector follows the peaks
    attack: Annotated[float, Field(ge=0.001, le=0.2)] = 0.005  # s
    release: Annotated[float, Field(ge=0.01, le=2)] = 0.12  # s
    max_gr: Annotated[float, Field(ge=0, le=30)] = 12.0  # dB it may take at most
    headroom: Annotated[float, Field(ge=0, le=6)] = 1.5  # dB a take's peaks stay under the podcast's ceiling


class Limiter(_Model):
    """The masters' true-peak limiter: how long it holds the gain down around a peak, how smoothly it moves,
    and how near the ceiling (dB) a block must come to be oversampled for its true peak."""
    hold: Annotated[float, Field(ge=0.002, le=0.2)] = 0.0213  # s each side of a peak
    attack: Annotated[float, Field(ge=0.001, le=0.1)] = 0.008  # s the gain is averaged over
    window_db: Annotated[float, Field(gt=0, le=6)] = 1.5  # on air
    podcast_window_db: Annotated[float, Field(gt=0, le=6)] = 0.5  # the MP3's ceiling is a dB under the limit

    @model_validator(mode="after")
    def _order(self) -> Limiter:
        if self.hold < self.attack + 0.003:
            raise ValueError(f"mix.limiter.hold ({self.hold:g} s) must be longer than attack ({self.attack:g} s) "
                             "by at least 0.003 s, or peaks slip through")
        return self


class Mix(_Model):
    """How takes and station sounds are cleaned, shaped and spliced."""
    highpass_hz: Annotated[float, Field(ge=0, le=80)] = 20.0  # DC-blocking high-pass on every take (0: off)
    edge_fade: Annotated[float, Field(ge=0.001, le=0.1)] = 0.005  # s of fade at every splice
    click_db: Annotated[float, Field(ge=6, le=60)] = 12.0  # dB a click stands above its surroundings
    click_max: Annotated[float, Field(ge=0.001, le=0.1)] = 0.03  # s: sound this short, alone, is a click
    clip_level: Annotated[float, Field(gt=0.5, le=1)] = 0.999  # full scale, for counting clipped runs
    clip_run: Annotated[int, Field(ge=2, le=100)] = 3  # samples in a row at full scale that count as a clip
    digital_silence: Annotated[float, Field(ge=0.1, le=10)] = 0.5  # s of zeros allowed inside the programme
    digital_floor_db: Annotated[float, Field(ge=-140, le=-60)] = -90.0  # below it a take's edge counts as zeros
    element_floor_db: Annotated[float, Field(ge=-120, le=-30)] = -60.0  # station sounds' edges trimmed below it
    filler_level: Annotated[float, Field(ge=-30, le=10)] = 0.0  # LU of the filler bed relative to speech
    compressor: Compressor = Compressor()
    limiter: Limiter = Limiter()


class Takes(_Model):
    """What a recording must be to air: a take whose speech is shorter than `min_fraction` of the item's estimated
    time is refused as cut short; one with less than `min_speech` seconds above the silence level as silent."""
    min_fraction: Annotated[float, Field(ge=0, le=1)] = 0.4
    min_speech: Annotated[float, Field(ge=0, le=60)] = 0.5


class Audio(_Model):
    sample_rate: Literal[44100, 48000] = 48000
    max_pause: Annotated[float, Field(ge=0, le=10)] = 0.4
    silence_db: Annotated[float, Field(ge=-90, le=-20)] = -45.0
    gap: Annotated[float, Field(ge=0, le=5)] = 0.3  # silence between consecutive speech items
    filler: str | None = None  # element that fills an under-run; none means silence (with a warning)
    duck_db: Annotated[float, Field(ge=-40, le=0)] = -18.0
    duck_ramp: Annotated[float, Field(ge=0.01, le=5)] = 0.4
    bed_fade: Annotated[float, Field(ge=0, le=10)] = 1.5


class Element(_Model):
    file: str
    kind: Literal["music", "jingle", "id", "bed", "signal"] = "music"
    level: Annotated[float, Field(ge=-30, le=10)] = 0.0  # LU relative to the speech target
    crossfade: Annotated[float, Field(ge=0, le=10)] = 0.0  # seconds it overlaps the item before it
    onair_only: bool = False
    title: str | None = None

    _file = field_validator("file")(classmethod(lambda cls, v: not_private(v)))


LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
RTL = ("ar", "fa", "he", "ur", "ps", "yi", "dv", "ckb", "sd", "ug")


def text_direction(language: str) -> str:
    """'rtl' for languages written right to left, else 'ltr' (the page's dir attribute)."""
    return "rtl" if language.split("-")[0].lower() in RTL else "ltr"


class EditionHost(_Model):
    """A host of an edition: their own voice and reading rate in the edition's language."""

    id: Id
    name: str
    rate_wpm: Annotated[float, Field(gt=40, lt=400)] = 150.0
    voice: str


class Edition(_Model):
    """One more language of the same week: its own show, hosts, rundown, masters, feed and pages.

    The [show] and [[hosts]] tables are the station's primary edition; [[editions]] adds the others.
    """

    id: str = ""  # folder under episodes/WEEK/ and the --edition name; default: the language
    language: str
    slug: Slug
    title: str
    description: str
    cover: str | None = None  # default: podcast.cover

    _cover = field_validator("cover")(classmethod(lambda cls, v: not_private(v) if v is not None else v))
    on_air: bool = False
    slot: str | None = None  # on-air editions: the slot the master fills exactly
    max_length: str | None = None  # podcast-only editions: the longest the podcast may run
    format: list[str] | None = None  # default: show.format
    air_weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] | None = None
    air_time: str | None = None
    hosts: list[EditionHost]

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str) -> str:
        if not LANG_RE.match(v):
            raise ValueError(f"{v!r} is not a BCP 47 language tag (e.g. ru, fr, pt-BR)")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Edition:
        if not self.id:
            object.__setattr__(self, "id", self.language.lower())
        if not ID_RE.match(self.id) or self.id in ("out", "reports", "segments"):
            raise ValueError(f"id {self.id!r} is not a folder name (lower-case letters, digits, '-'; "
                             "not out, reports or segments)")
        if not self.hosts:
            raise ValueError(f"edition {self.id!r} needs at least one host")
        if self.on_air and not self.slot:
            raise ValueError(f"edition {self.id!r} goes on air and needs a slot (e.g. slot = \"28:30\")")
        if not self.on_air and self.slot:
            raise ValueError(f"edition {self.id!r} is podcast-only: give it max_length, not slot")
        for what in (self.slot, self.max_length):
            if what is not None and parse_duration_ms(what) <= 0:
                raise ValueError(f"edition {self.id!r}: a length must be longer than zero")
        return self


class Mail(_Model):
    """Intake from correspondents and the weekly bulletin to member organisations (radio/mail/)."""

    # the bulletin: reports grouped by region or by sector
    group_by: Literal["region", "sector"] = "region"
    bulletin_title: str | None = None  # default: "<show title> bulletin"
    # sending: STARTTLS on 587 or TLS on 465; user and password from RADIO_SMTP_USER / RADIO_SMTP_PASSWORD
    # or private/mail-credentials.toml [smtp]
    smtp_host: str = "127.0.0.1"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_security: Literal["starttls", "tls"] = "starttls"
    from_address: str | None = None  # default: [station] email
    unsubscribe_url: str = "https://radio.example.org/unsubscribe/{token}"  # https, one-click (RFC 8058)
    unsubscribe_mailto: str | None = None  # e.g. "unsubscribe@radio.example.org"
    rate_per_minute: Annotated[float, Field(gt=0, le=6000)] = 60.0
    dkim_selector: str | None = None  # sign each message with private/dkim.pem under this selector (RFC 8058)
    # intake
    max_attachment_mb: Annotated[float, Field(gt=0, le=100)] = 10.0
    authserv_id: str | None = None  # trust only Authentication-Results added by this server

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsub(cls, v: str) -> str:
        if not re.fullmatch(r"https://[^\s/]+/\S*", v) or "{token}" not in v:
            raise ValueError(f"{v!r} is not an https URL with {{token}} in it (RFC 8058 wants https)")
        return v

    @field_validator("from_address", "unsubscribe_mailto")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", v):
            raise ValueError(f"{v!r} is not an e-mail address")
        return v


class Config(_Model):
    station: StationInfo
    show: Show
    hosts: list[Host]
    verification: Verification = Verification()
    podcast: Podcast
    loudness: Loudness = Loudness()
    audio: Audio = Audio()
    takes: Takes = Takes()
    mix: Mix = Mix()
    elements: dict[str, Element] = Field(default_factory=dict)
    editions: list[Edition] = Field(default_factory=list)
    mail: Mail = Mail()
    publish: Publish = Publish()  # hosting targets, mirrors, retention, WebSub hub (radio/hosting)
    broadcaster: Broadcaster | None = None  # where the on-air master is delivered (radio deliver)

    @model_validator(mode="after")
    def _refs(self) -> Config:
        if not self.hosts:
            raise ValueError("hosts: the show needs at least one host")
        ids = [h.id for h in self.hosts]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"hosts: host id {dupes[0]!r} is used twice")
        for section in self.show.format:
            if section.startswith("element:") and section[8:] not in self.elements:
                raise ValueError(f"show.format: {section!r} names no element in [elements]")
        for key, ref in (("show.bed", self.show.bed), ("audio.filler", self.audio.filler)):
            if ref is not None and ref not in self.elements:
                raise ValueError(f"{key}: {ref!r} names no element in [elements]")
        seen_ids, seen_slugs = {self.station.language.lower()}, {self.show.slug}
        for ed in self.editions:
            if ed.id in seen_ids:
                raise ValueError(f"editions: edition id {ed.id!r} is used twice (the [show] is edition "
                                 f"{self.station.language.lower()!r}); set id = to tell them apart")
            if ed.slug in seen_slugs:
                raise ValueError(f"editions: slug {ed.slug!r} is used twice: every feed needs its own")
            seen_ids.add(ed.id)
            seen_slugs.add(ed.slug)
            for section in ed.format or []:
                if section.startswith("element:") and section[8:] not in self.elements:
                    raise ValueError(f"editions: {ed.id}: format {section!r} names no element in [elements]")
                if section not in SECTIONS and not section.startswith("element:"):
                    raise ValueError(f"editions: {ed.id}: {section!r} is not a section")
        return self

    @property
    def edition_ids(self) -> list[str]:
        """Every edition's id, the primary ([show]) first."""
        return [self.station.language.lower(), *(e.id for e in self.editions)]

    def for_edition(self, ed: Edition) -> Config:
        """The config as one edition sees it: its show, hosts and language in place of the primary's."""
        show = self.show.model_copy(update={
            "title": ed.title, "slug": ed.slug, "description": ed.description,
            "slot": ed.slot or ed.max_length or self.show.slot, "format": ed.format or self.show.format,
            "air_weekday": ed.air_weekday or self.show.air_weekday, "air_time": ed.air_time or self.show.air_time})
        hosts = [Host(id=h.id, name=h.name, language=ed.language, rate_wpm=h.rate_wpm, voice=h.voice)
                 for h in ed.hosts]
        return self.model_copy(update={
            "show": show, "hosts": hosts,
            "station": self.station.model_copy(update={"language": ed.language}),
            "podcast": self.podcast.model_copy(update={"cover": ed.cover or self.podcast.cover})})

    def host(self, host_id: str) -> Host:
        for h in self.hosts:
            if h.id == host_id:
                return h
        raise KeyError(host_id)


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a model accepts at a location (for 'did you mean')."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return list(current.model_fields) if current else []


def _config_error(path: Path, err: ValidationError) -> ConfigError:
    known = lambda loc: _known_keys(Config, loc)  # noqa: E731
    return from_validation(  # type: ignore[return-value]
        err, where=path, cls=ConfigError, noun="key", known=known,
        name=lambda loc: ".".join(str(p) for p in loc) or "(top)",
        unknown_fix="known keys: {known}",
        missing_fix="add it; `radio init` writes a commented example",
        fixes={"literal_error": "use one of the values listed"}, fix="see the comments in radio.toml")


def load_config(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError("no station config here", where=path,
                          fix="run `radio init DIR` or pass --station DIR")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", where=path, fix="save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", where=path, fix="fix the syntax at that line") from None
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise _config_error(path, e) from None
