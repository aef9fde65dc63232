"""Whether a public text names a withheld detail, decided by comparing two sets of canonical forms.

The contract (other parts of the desk rely on it; keep it):

    detail_forms(detail, kind) -> set[str]     every form a detail must be caught in
    text_candidates(text)      -> set[str]     the same kind of forms, found in a public text
    a detail is named by a text  <=>  detail_forms(detail, kind) & text_candidates(text)

Both sides are plain strings with no reference to each other, so a build can compare keyed digests (HMAC) of
both sets without ever holding a detail in plain text. Every form starts with what it is:

- ``w:`` words on a confusable skeleton: NFKC, case-folded, every letter mapped to its Unicode TR39 skeleton
  (ICU's SpoofChecker: Cyrillic ``Ѕ`` and Greek ``Ρ`` meet Latin ``S`` and ``P``), accents dropped, invisible
  characters removed, then split into words; written with one space between the words and also run together,
  so "Stone-⏎bridge", "Stone bridge", "**Stone**bridge" and "[Stone](x)bridge" all meet "Stonebridge".
  Skeletons are taken starting from each character's lower case, its own case and its upper case (Cyrillic
  'Н' looks like 'H', its 'н' does not look like 'h'; 'Ʀ' looks like 'R'), and the words are also
  transliterated to Latin letters (Unidecode: "Кедровый" meets "Kedrovyi").
- ``t:`` a phone number: its last seven digits, whatever its formatting, spacing, digits (fullwidth,
  Arabic-Indic) or country code. In a text, every run of seven digits in a row of digits and separators.
- ``m:`` an e-mail address, case-folded on its skeleton. In a text also when it is written out ("at", "dot",
  in brackets), HTML-entity or percent encoded, or in a ``mailto:`` link.

A text's words are taken as every run of up to MAX_WORDS words, and the last word of each run also cut short
by up to SUFFIX letters: a word that starts with a name names it ("Kestrel Ridge's", "Stonebridger",
Russian "Стоунбриджа"), one that only ends with it does not ("UnKestrel").

Kinds of detail: ``name`` and ``place`` (the whole of it: radio/sources.py makes each part of a person's name
a detail of its own, so "Thanks, Sofia" names Sofia Imaginary), ``phone``, ``email``, and ``text`` (free text
the desk wrote: the phones and addresses in it, its proper nouns, and the whole of it when short).
"""

from __future__ import annotations

import html
import re
import unicodedata
import urllib.parse
from functools import lru_cache

MAX_WORDS = 6  # a detail of more words is matched on its first MAX_WORDS
SUFFIX = 4  # letters a word may run on past a detail's last word and still name it
PHONE_DIGITS = 7  # a phone number is matched on its last seven digits
KINDS = ("name", "place", "phone", "email", "text")

# never seen by a reader, but they split a name for a naive search
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e\u200e\u200f\u202a\u202b\u202c"
                                    "\u202d\u202e\u2066\u2067\u2068\u2069\u034f"), None)
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1)
def _checker():
    import icu
    return icu.SpoofChecker()


@lru_cache(maxsize=None)
def _settle(c: str, start: str) -> str:
    """One character's skeleton, case-folded, taken again until it stays the same: Cyrillic 'Ԁ' has no
    skeleton of its own but its small letter's is 'd'; 'Ʀ' is 'R', so 'r'."""
    x = c.casefold() if start == "lower" else c.upper() if start == "upper" else c
    for _ in range(4):
        y = str(_checker().getSkeleton(0, x)).casefold()
        if y == x:
            break
        x = y
    return x


VARIANTS = ("lower", "as-is", "upper")
_ORDER = {"lower": ("lower", "as-is", "upper"), "as-is": ("as-is", "lower", "upper"),
          "upper": ("upper", "as-is", "lower")}


@lru_cache(maxsize=None)
def _fold(c: str, start: str) -> str:
    """The character's settled skeleton from `start`; if that is no plain letter, from the other cases
    (Greek 'Τ' is 't' as it is, Armenian 'Ռ' is 'n' in its small letter: one word may hold both)."""
    tries = [_settle(c, s) for s in _ORDER[start]]
    return next((t for t in tries if t.isascii()), tries[0])


@lru_cache(maxsize=65536)
def skeleton(text: str, start: str = "lower") -> str:
    """`text` as TR39 sees it: NFKC, invisible characters removed, every character mapped to its confusable
    skeleton and case-folded (until that settles), accents and other marks dropped.

    `start` says which case each character is taken in first: its lower case (so 'I' and 'i' meet), as it is
    (so 'Ʀ' meets 'R' and 'Ԁ' meets 'd' in one word), or its upper case (so 'I' meets 'l' whatever the case
    around it). A word is compared in all three."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = "".join(_fold(c, start) for c in text)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _unmark(text: str) -> str:
    """Markup a reader does not see: entities decoded, Markdown emphasis dropped (so it joins what it split),
    a link's text kept in place and its address set apart."""
    text = html.unescape(html.unescape(text))
    addresses: list[str] = []

    def link(m: re.Match) -> str:
        addresses.append(m.group(2))
        return m.group(1)

    text = re.sub(r"!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)", link, text)
    text = re.sub(r"<[a-zA-Z/][^>]*>", "", text)  # inline HTML tags join what they split, like emphasis
    text = re.sub(r"[*_~`]+", "", text)
    text = re.sub(r"-[ \t]*\r?\n\s*", "", text)  # a word hyphenated at the end of a line
    return text + ("\n" + "\n".join(addresses) if addresses else "")


def _spellings(text: str) -> list[list[str]]:
    """The text's words four ways: on each of the three skeletons, and transliterated to Latin letters. Skeletons are taken per whitespace-separated chunk, so a look-alike that is not a letter
    ('|' for 'l', '0' for 'o') becomes the letter it imitates before the chunk is split into words."""
    from unidecode import unidecode
    chunks = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).split()
    out: list[list[str]] = []
    for start in VARIANTS:
        words: list[str] = []
        for chunk in chunks:
            words += _WORD.findall(skeleton(chunk, start))
        out.append(words)
    plain = "".join(c for c in unicodedata.normalize("NFKD", " ".join(chunks).casefold())
                    if not unicodedata.combining(c))
    out.append(re.findall(r"[a-z0-9]+", unidecode(plain).lower()))
    return out


def _word_forms(words: list[str]) -> set[str]:
    words = words[:MAX_WORDS]
    if not words:
        return set()
    return {f"w:{' '.join(words)}", f"w:{''.join(words)}"}


def _ngrams(words: list[str], out: set[str]) -> None:
    """Every run of up to MAX_WORDS words, spaced with the last word cut short by up to SUFFIX letters, and run
    together (whole words: "Stone bridge" names Stonebridge, "a shop" does not name Ash)."""
    for i in range(len(words)):
        spaced = ""
        joined = ""
        for n in range(1, min(MAX_WORDS, len(words) - i) + 1):
            last = words[i + n - 1]
            for cut in range(0, min(SUFFIX, len(last) - 1) + 1):
                end = last[:len(last) - cut]
                out.add(f"w:{spaced}{end}")
                if n == 1:
                    out.add(f"w:{end}")
            joined += last
            out.add(f"w:{joined}")
            spaced += last + " "


# --- phones ---------------------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/\u00a0]{0,3}\d)*")


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in text if unicodedata.digit(c, None) is not None)


def phone_digits(value: str) -> str | None:
    """A phone number's last seven digits, or None if `value` holds no number that long. phonenumbers reads
    it when it can (a country code and a trunk prefix are not part of the number); otherwise its digits."""
    import phonenumbers
    text = unicodedata.normalize("NFKC", value)
    try:
        number = phonenumbers.parse(text, None)
        digits = phonenumbers.national_significant_number(number)
    except phonenumbers.NumberParseException:
        runs = [_digits(m.group(0)) for m in _DIGIT_RUN.finditer(text)]
        digits = max(runs, key=len, default="")
    return digits[-PHONE_DIGITS:] if len(digits) >= PHONE_DIGITS else None


def _phone_candidates(text: str, out: set[str]) -> None:
    import phonenumbers
    text = unicodedata.normalize("NFKC", text)
    for m in _DIGIT_RUN.finditer(text):
        d = _digits(m.group(0))
        for i in range(0, len(d) - PHONE_DIGITS + 1):
            out.add(f"t:{d[i:i + PHONE_DIGITS]}")
    # numbers written with letters (0800 FLOWERS) are read as the digits they dial
    for match in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
        nsn = phonenumbers.national_significant_number(match.number)
        if len(nsn) >= PHONE_DIGITS:
            out.add(f"t:{nsn[-PHONE_DIGITS:]}")


# --- e-mail addresses -----------------------------------------------------------------------------------

_LOCAL = r"[a-z0-9!#$%&'*+/=?^`{|}~.\-]+"
_AT = re.compile(r"\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+at\s+|\s*@\s*")
_DOT = re.compile(r"\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+")


def _mail_text(text: str) -> str:
    text = html.unescape(html.unescape(text))
    for _ in range(3):  # %2540 is %40 encoded once more
        decoded = urllib.parse.unquote(text)
        if decoded == text:
            break
        text = decoded
    text = " ".join(skeleton(chunk) for chunk in unicodedata.normalize("NFKC", text).split())
    text = _AT.sub("@", text)
    return _DOT.sub(".", text)


def email_form(address: str) -> str:
    return "m:" + _mail_text(address.strip()).replace(" ", "")


def _email_candidates(text: str, out: set[str]) -> None:
    for m in re.finditer(rf"{_LOCAL}(?:@[a-z0-9\-.]+)+", _mail_text(text)):
        parts = m.group(0).split("@")
        for local, domain in zip(parts, parts[1:]):
            local = local.removeprefix("mailto:").strip(".")
            domain = domain.strip(".-")
            if local and "." in domain:
                out.add(f"m:{local}@{domain}")


# --- the two sides ----------------------------------------------------------------------------------------

# capitalised in English, yet no name: a note saying "on Friday" withholds no Friday
_NOT_NAMES = frozenset("""i monday tuesday wednesday thursday friday saturday sunday january february march april
may june july august september october november december mondays tuesdays wednesdays thursdays fridays saturdays
sundays""".split())


def proper_nouns(text: str) -> list[str]:
    """Runs of capitalised words that do not start a sentence: the names in what the desk wrote (weekdays and
    months are not names)."""
    found: list[str] = []
    run: list[str] = []
    end = 0
    for m in re.finditer(r"[^\W\d_][\w'’\-]*", text):
        word = m.group(0)
        if run and (text[end:m.start()].strip() or not word[0].isupper()):
            found.append(" ".join(run))
            run = []
        before = text[:m.start()].rstrip()
        if word[0].isupper() and before and before[-1] not in ".!?:;" and word.casefold() not in _NOT_NAMES:
            run.append(word)
        end = m.end()
    if run:
        found.append(" ".join(run))
    return [f for f in found if len(f) >= 3]


def detail_forms(detail: str, kind: str) -> set[str]:
    """Every canonical form in which `detail` (of `kind`, one of KINDS) must be caught."""
    return set(_detail_forms(detail or "", kind))


@lru_cache(maxsize=4096)
def _detail_forms(detail: str, kind: str) -> frozenset[str]:
    return frozenset(_forms(detail, kind))


def _forms(detail: str, kind: str) -> set[str]:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of detail {kind!r}")
    detail = detail or ""
    forms: set[str] = set()
    if kind == "phone":
        d = phone_digits(detail)
        return {f"t:{d}"} if d else set()
    if kind == "email":
        m = re.search(r"[^\s<>@]+@[^\s<>@]+", detail)
        if not m:
            return set()
        forms.add(email_form(m.group(0)))
        for local in _spellings(m.group(0).split("@")[0]):
            local = [w for w in local if not w.isdigit()]
            if sum(map(len, local)) >= 4:  # the address's own words ("sofia.imaginary") name its owner too
                forms |= _word_forms(local)
        return forms
    if kind == "text":
        for m in re.finditer(r"[^\s<>@,;]+@[^\s<>@,;]+\.[^\s<>@,;]+", detail):
            forms |= detail_forms(m.group(0), "email")
        for m in _DIGIT_RUN.finditer(unicodedata.normalize("NFKC", detail)):
            forms |= detail_forms(m.group(0), "phone")
        for noun in proper_nouns(detail):
            forms |= detail_forms(noun, "place")
        if len(_spellings(detail)[0]) <= 6:
            forms |= detail_forms(detail, "place")
        return forms
    for words in _spellings(detail):
        forms |= _word_forms(words)
    return forms


# A text's forms are every spelling of every run of its words: some 1,500 strings, 100 KB, for a report's few
# lines. Kept for the last 64 texts only. At 512, a week of 80 reports held 50 MB of them through the whole
# build, assembly included, and `radio script` of 1,000 reports peaked at 203 MiB against 85 at 64, with the
# same 99 hits in 6,130 asks: the texts come round in the order of the week, too many for any cache to keep,
# and the verdict on a report's texts is kept apart (radio/withheld.py), so asking again seldom comes here.
@lru_cache(maxsize=64)
def _candidates(text: str) -> frozenset[str]:
    out: set[str] = set()
    plain = _unmark(text)
    for words in _spellings(plain):
        _ngrams(words, out)
    _phone_candidates(plain, out)
    _email_candidates(text, out)
    _email_candidates(plain, out)
    return frozenset(out)


def text_candidates(text: str) -> set[str]:
    """Every canonical form found in a public text (see the module's contract)."""
    return set(_candidates(text or ""))


def names(text: str, detail: str, kind: str) -> bool:
    forms = detail_forms(detail, kind)
    return bool(forms) and not forms.isdisjoint(_candidates(text or ""))


# --- look-alikes on their own -------------------------------------------------------------------------------

_ONE_WRITING = {"Han": "Han", "Hiragana": "Han", "Katakana": "Han", "Hangul": "Han", "Bopomofo": "Han"}


def mixed_script_words(text: str) -> list[str]:
    """Words whose letters come from more than one script ('Ѕtonebridge'): a reader sees one word, a search
    sees another. Japanese and Korean mix scripts by design and count as one."""
    import icu
    found = []
    for word in re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", text or "")):
        scripts = set()
        for ch in word:
            name = icu.Script.getScript(ord(ch)).getName()
            if name not in ("Common", "Inherited"):
                scripts.add(_ONE_WRITING.get(name, name))
        if len(scripts) > 1 and word not in found:
            found.append(word)
    return found
