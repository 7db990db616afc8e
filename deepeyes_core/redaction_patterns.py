"""deepeyes' own secret patterns, beside detect-secrets' (what each kind is: the docstring of
:mod:`deepeyes_core.redaction`).

The patterns with no literal of three characters or more (the pre-filter's gate) have a cheap gate
of their own instead, run before the regex on each string: :func:`has_base64_run` for AWS secret
keys, :func:`has_phone_digits` for phone numbers (the string's UTF-8 bytes translated, and searched
with ``in`` or counted: a few times cheaper than a regex). The phone patterns match ASCII digits
only, so that the gate is exact (the hypothesis test of every pattern checks it).
"""

from __future__ import annotations

import math
import re
from collections import Counter

PEM_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK|)-----.*?(?:-----END \1PRIVATE KEY\2-----|\Z)", re.DOTALL
)
ANTHROPIC = re.compile(r"sk-ant-(?<![\w-]sk-ant-)[A-Za-z0-9_-]{16,}")
OPENAI = re.compile(r"sk-(?<![\w-]sk-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}")
BEARER = re.compile(r"(?i:\bbearer)\s+((?=[A-Za-z0-9._~+/-]*[0-9._~+/-])[A-Za-z0-9._~+/-]{8,}=*)")
AUTH_HEADER = re.compile(
    r"(?i:\bauthorization)[\"']?\s*[:=]\s*[\"']?(?:(?i:basic|bearer|token|digest|apikey|negotiate)\s+)?"
    r"(?!(?i:basic|bearer|token|digest|apikey|negotiate)\b)([^\s\"',;{}\[\]]+)"
)
EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w@-])(?!:[\w~/.])"
)
#: The password of ``scheme://user:password@host`` where detect-secrets' BasicAuthDetector does not
#: see it (an empty user: ``redis://:pw@host``; a password with ``!`` in it).
URL_PASSWORD = re.compile(r"://(?<=[A-Za-z0-9+.-]://)[^\s:/@{}\"'<>]*:([^\s/@{}\"'<>]+)@(?=[A-Za-z0-9\[])")
#: ``<password>...</password>`` and the like in XML.
XML_SECRET = re.compile(
    r"<(?i:(password|passwd|pwd|secret|client_?secret|token|access_?token|api_?key|apikey|private_?key))>"
    r"([^<>\s]{1,256})</(?i:\1)>"
)

#: Vendor key formats detect-secrets 1.5 lacks: (kind, pattern). Each begins with a literal prefix
#: (the pre-filter's gate) followed by a look-behind, so that ``xhf_...`` inside a word is no key.
VENDOR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("google_api_key", r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}(?![\w-])"),
        ("huggingface_token", r"hf_(?<![\w-]hf_)[A-Za-z0-9]{30,}(?![\w-])"),
        ("groq_api_key", r"gsk_(?<![\w-]gsk_)[A-Za-z0-9]{48,}(?![\w-])"),
        ("xai_api_key", r"xai-(?<![\w-]xai-)[A-Za-z0-9]{70,}(?![\w-])"),
        ("replicate_api_token", r"r8_(?<![\w-]r8_)[A-Za-z0-9]{37,}(?![\w-])"),
        ("perplexity_api_key", r"pplx-(?<![\w-]pplx-)[A-Za-z0-9]{40,}(?![\w-])"),
        ("github_token", r"github_pat_(?<![\w-]github_pat_)[A-Za-z0-9_]{60,}"),
        ("npm_tokens", r"npm_(?<![\w-]npm_)[A-Za-z0-9]{36}(?![\w-])"),
        ("artifactory_credentials", r"AKCp(?<![\w-]AKCp)[A-Za-z0-9]{60,}(?![\w-])"),
        ("azure_shared_access_key", r"(?i:SharedAccessKey|AccountKey)=([A-Za-z0-9+/]{20,}={0,2})"),
    )
)

# -- cheap gates: the string's bytes, mapped to a shape, searched with ``in`` ----------------------

_ALPHABET_64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+")
#: Every character of the base64 alphabet becomes "a", every other byte a space.
_RUNS = bytes(ord("a") if i in _ALPHABET_64 else ord(" ") for i in range(256))
_RUN_40 = b"a" * 40
_last: list = [None, b""]


def _utf8(text: str) -> bytes:
    """The string as UTF-8 (the last one is kept: the gates of one string share it)."""
    if _last[0] is not text:
        _last[0], _last[1] = text, text.encode("utf-8", "surrogatepass")
    return _last[1]


def has_base64_run(text: str) -> bool:
    """Whether the string has a run of 40 characters of the base64 alphabet (``[A-Za-z0-9/+]``,
    ASCII only, as :data:`AWS_SECRET`): one C-speed translation and one substring search, several
    times cheaper than the regex on strings that have none."""
    return _RUN_40 in _utf8(text).translate(_RUNS)


def has_phone_digits(text: str) -> bool:
    """Whether the string has the 8 ASCII digits or more that any phone number has."""
    raw = _utf8(text)
    return len(raw) - len(raw.translate(None, b"0123456789")) >= 8


# -- AWS secret access keys ------------------------------------------------------------------------

#: A maximal run of 40 or more characters of the base64 alphabet (the check keeps runs of exactly 40).
AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40,}")
_AWS_CONTEXT = re.compile(r"(?i:aws|secret|amazon|credential|s3)")
_WORDS = re.compile(r"[A-Z]?[a-z]{3,}")


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def is_aws_secret(text: str, start: int, end: int) -> bool:
    """Whether the run ``text[start:end]`` is an AWS secret access key: exactly 40 characters, not
    followed by base64 padding (``=``: a base64 payload), with both an upper and a lower case letter
    (a git SHA, lower hex, has no upper case), and a digit, ``/`` or ``+``. Without AWS words
    ("aws", "secret", "credential", "amazon", "s3") in the 200 characters before, it must also look
    random: Shannon entropy of 4 bits a character or more (random keys: 4.1 at the least in 100,000)
    and at most 60 % of it in word-like runs (``Names``, ``word``: camelCase identifiers and paths
    are 70-90 %; random keys 57 % at the 99.9th percentile)."""
    run = text[start:end]
    if len(run) != 40 or text[end : end + 1] == "=":
        return False
    if run.islower() or run.isupper() or not any(c.isdigit() or c in "/+" for c in run):
        return False
    if _AWS_CONTEXT.search(text, max(0, start - 200), start):
        return True
    if _entropy(run) < 4.0:
        return False
    return sum(len(word) for word in _WORDS.findall(run)) <= 24


# -- phone numbers ---------------------------------------------------------------------------------

#: International: ``+`` and a country code (8 digits at least, the look-ahead), then either the
#: digits (E.164, ``+14155550123``) or groups separated by one space, dot or dash, the first
#: possibly in parentheses (``+44 20 7946 0958``, ``+1 (415) 555-0123``, ``+81 3-1234-5678``).
PHONE_INTERNATIONAL = re.compile(
    r"\+(?<![\w+]\+)(?=(?:[ .()-]{0,2}[0-9]){8})[1-9][0-9]{0,3}"
    r"(?:(?:[ .-]?\([0-9]{1,4}\)|[ .-][0-9]{1,4})(?:[ .-][0-9]{2,6}){1,4}|[0-9]{6,13})"
    r"(?![\w+]|[.-][0-9]|,[0-9])"
)
#: North American: ``(415) 555-0123``, ``415-555-0123``, ``415.555.0123`` (area code and exchange
#: begin with 2-9, as they do in the numbering plan; one separator throughout for the bare form).
PHONE_NORTH_AMERICAN = re.compile(
    r"\((?<![\w(]\()[2-9][0-9]{2}\)[ ]?[2-9][0-9]{2}[-. ][0-9]{4}(?![\w-]|[.,][0-9])"
)
PHONE_NORTH_AMERICAN_BARE = re.compile(
    r"[2-9](?<![\w.+/-][2-9])[0-9]{2}([-.])[2-9][0-9]{2}\1[0-9]{4}(?![\w-]|[.,:][0-9])"
)
#: The three in one pattern (one search of a string instead of three).
PHONE = re.compile(
    "|".join(f"(?:{p.pattern})" for p in (PHONE_INTERNATIONAL, PHONE_NORTH_AMERICAN, PHONE_NORTH_AMERICAN_BARE))
)


def is_phone_number(text: str, start: int, end: int) -> bool:
    """Whether a phone pattern's match has a phone number's count of digits: 10 to 15 written
    together (E.164), 8 to 15 when grouped."""
    digits = sum(c.isdigit() for c in text[start:end])
    grouped = any(not c.isdigit() for c in text[start + 1 : end])
    return (8 if grouped else 10) <= digits <= 15
