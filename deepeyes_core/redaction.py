"""Secret and PII redaction of trajectories, before anything is described, exported or trained on.

On by default. :class:`Redactor` walks every string of a trajectory: each invocation's
``parameters``, ``result`` and ``error`` (recursively through dicts, lists and tuples), and the
trajectory's free texts: ``user_request``, ``final_answer`` and each assistant turn's text. Tool names, agent names, session ids and declared tool specs are
identifiers, not payload, and are left alone.

What is redacted, each counted under its *kind* in :attr:`Redactor.counts`:

``secret_parameter``
    the whole value of a dict key that names a secret (``password``, ``api_key``, ``apiKey``,
    ``X-Api-Key``, ``access_token``, ``Authorization``...), whatever the value is; and the value of
    a command-line flag naming one (``--password hunter2``, ``--api-key=...``). A key matches when,
    split into snake_case words (camelCase and dashes folded), it *is* one of ``secret_keys`` or
    *ends with* ``_<secret key>``: ``db_password`` and ``github_token`` match, ``max_tokens``,
    ``token_count`` and ``secret_name`` do not. ``None``, booleans and empty strings are kept.
    Also the text of an XML element named so (``<password>x</password>``).
``private_key``
    a whole PEM block (``-----BEGIN ... PRIVATE KEY----- ... -----END ...-----``, or to the end of
    the string when the END line is missing); a string in which detect-secrets'
    ``PrivateKeyDetector`` fires but no PEM block is found (PuTTY keys) is redacted whole.
detect-secrets' vendor detectors (kind = their ``secret_type`` in snake_case)
    every ``RegexBasedDetector`` plugin the installed detect-secrets ships: ``aws_access_key``,
    ``github_token``, ``gitlab_token``, ``slack_token``, ``stripe_access_key``,
    ``json_web_token``, ``basic_auth_credentials`` (the password of ``scheme://user:pw@host``),
    ``sendgrid_api_key``, ``pypi_token``, ``npm_tokens``, ``azure_storage_account_access_key``,
    ``twilio_api_key``, ``discord_bot_token``, ``telegram_bot_token``... (a newer detect-secrets
    brings its new detectors in automatically). Its ``OpenAIDetector`` only knows legacy keys
    (``...T3BlbkFJ...``); it is counted as ``openai_api_key``. Our own patterns add to some of
    these kinds what detect-secrets 1.5 misses: ``github_token`` (fine-grained ``github_pat_...``),
    ``npm_tokens`` (a bare ``npm_...``, not only in ``.npmrc``), ``artifactory_credentials``
    (``AKCp...`` before ``&``), ``basic_auth_credentials`` (``redis://:pw@host``, a password with
    ``!`` in it).
``anthropic_api_key``, ``openai_api_key``
    ``sk-ant-...`` and ``sk-...``/``sk-proj-...``/``sk-or-v1-...`` keys (detect-secrets 1.5 has no
    detector for them).
``google_api_key``, ``huggingface_token``, ``groq_api_key``, ``xai_api_key``, ``replicate_api_token``,
``perplexity_api_key``
    ``AIza...`` (35 more characters), ``hf_...``, ``gsk_...``, ``xai-...``, ``r8_...``,
    ``pplx-...`` keys, by their documented prefix and length.
``azure_shared_access_key``
    the key of ``SharedAccessKey=...`` (Service Bus, Event Hubs) and of an ``AccountKey=...`` that
    detect-secrets' 88-character pattern does not take (``azure_storage_account_access_key``).
    A GCP service-account key file is covered by ``private_key`` (its ``private_key``) and
    ``secret_keyword``/``secret_parameter`` (its ``private_key_id``).
``aws_secret_access_key``
    a run of exactly 40 characters of ``[A-Za-z0-9/+]``, not followed by ``=``, with both cases and a
    digit, ``/`` or ``+``; without AWS words before it ("aws", "secret", "credential"...), it must
    also look random (entropy, few word-like runs): see
    :func:`~deepeyes_core.redaction_patterns.is_aws_secret`. Git SHAs (lower-case hex), other
    lengths of base64, identifiers and paths stay. A base64 payload of exactly 30 bytes (40
    characters, no padding) has the same shape and is redacted.
``bearer_token``, ``authorization_header``
    the token of ``Bearer <token>`` (one that has a digit or ``-._~+/`` in it, so "bearer of bad
    news" stays), and the credentials of an ``Authorization: <scheme> <credentials>`` header.
``secret_keyword``
    detect-secrets' ``KeywordDetector``: assignments such as ``password = "x"``, ``"api_key":
    "x"``, ``secret: x`` inside a string (its quoted-code and config-file forms), minus what
    detect-secrets' own heuristic filters call a false positive (templated ``{x}``/``${x}``,
    ``$VAR``, indirect references like ``get_secret()``, values without letters, sequential
    strings, UUIDs). Plus our own: a value assigned to a secret-named key (as ``secret_keys``
    match) in a string, quoted (``client_secret="%x"``, ``pwd := "x"``, ``"token": "x"``) or after
    ``=`` (``DB_PASSWORD=#x``, ``?token=x&``), which detect-secrets skips when the value begins
    with punctuation or the key is ``token``; the same filters apply.
``email``
    e-mail addresses. ``git@github.com:org/repo`` (scp syntax) is an address of a repository,
    not of a person, and is kept.
``phone_number``
    international numbers (``+14155550123``, ``+44 20 7946 0958``, ``+1 (415) 555-0123``: ``+``,
    then 10 to 15 digits written together or 8 to 15 in groups) and North American ones
    (``(415) 555-0123``, ``415-555-0123``, ``415.555.0123``). Bare digit runs (ids, timestamps,
    order numbers), dates, versions, prices and IP addresses stay. ``phone = false`` turns it off.

Consistency: a value redacted anywhere in a trajectory (by a detector, or as a secret-named key's
whole value) is then replaced wherever else it occurs in that trajectory, counted under the kind
it was first redacted as: a tool result that echoes a password loses it too. See
:mod:`deepeyes_core.redaction_consistency` (values of 4 characters or more; under 8, as whole
tokens only).

Deliberately not used: detect-secrets' high-entropy detectors (``Base64HighEntropyString``,
``HexHighEntropyString``) flag commit SHAs, content hashes, UUIDs and base64 payloads, which are
ordinary and valuable tool arguments; and ``IPPublicDetector`` (an IP address is neither a secret
nor, for a tool call, usually personal). Free prose ("my password is hunter2") is not detected.

detect-secrets is used as a library: each plugin's ``analyze_string`` (which never verifies a
secret over the network, unlike ``analyze_line`` under some settings), with spans taken from the
plugin's own ``denylist`` patterns so exactly the secret is replaced. No global detect-secrets
settings are touched.

Speed (this runs on every kept trajectory): every regular expression above is analysed once (see
:mod:`deepeyes_core.redaction_prefilter`, which also says what happens without it), with
Python's own regex parser, for the literals any match must contain ("akia", "bearer", "@",
"password"...). A string is casefolded and searched once for all those literals together; only the
few patterns with no usable literal (Discord, Telegram bot tokens) are searched directly, and the
AWS secret key and phone patterns after a cheap gate of their own (see
:mod:`deepeyes_core.redaction_patterns`). A string
that passes neither, the vast majority, is returned as is. Patterns that pass run only where their
literals are, and case-insensitive ones that begin with a keyword are tried only at the keyword's
positions. Results are cached per distinct string (tool results repeat), unchanged containers and
trajectories are returned as the same objects. Measured on one core, 100,000 synthetic agent
trajectories (300,000 calls with SQL, code, HTTP and shell payloads, 1 % of them with a secret):
29,000 trajectories/s; 16,000/s when no string repeats (before the AWS secret key, phone and
consistency work; a before/after run of 4,000 trajectories of three calls on a shared machine
measured that work at about 4 % when no string repeats (29,100 -> 27,900/s), 16 % when strings
repeat (234,000 -> 197,000/s).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import attrs

from .errors import ConfigError
from .records import AssistantTurn, ToolInvocation, Trajectory
from .redaction_consistency import Spreader, worth_spreading
from .redaction_prefilter import Literal, minimal, trie_regex
from .redaction_patterns import (
    ANTHROPIC, AUTH_HEADER, AWS_SECRET, BEARER, EMAIL, OPENAI, PEM_BLOCK, PHONE, URL_PASSWORD, VENDOR_PATTERNS,
    XML_SECRET, has_base64_run, has_phone_digits, is_aws_secret, is_phone_number,
)
from .redaction_rules import Detector, Rule, merged


#: Keys whose whole value is a secret (matched as described in the module docstring).
DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    "password", "passwd", "pwd", "passphrase", "secret", "token", "api_key", "apikey",
    "authorization", "private_key", "secret_key", "access_key", "client_secret", "credential",
    "credentials", "cookie", "session_key", "private_key_id",
)

#: detect-secrets plugins not used as vendor detectors, and why (see the module docstring).
EXCLUDED_PLUGINS = {
    "Base64HighEntropyString": "flags hashes, ids and base64 payloads that are ordinary arguments",
    "HexHighEntropyString": "flags commit SHAs, digests and UUIDs that are ordinary arguments",
    "IPPublicDetector": "an IP address is not a secret",
    "KeywordDetector": "used through its patterns and heuristic filters (kind secret_keyword)",
    "PrivateKeyDetector": "used to widen a hit to the whole PEM block (kind private_key)",
}

#: Kinds renamed from a detect-secrets ``secret_type`` to ours.
_RENAMED = {"openai_token": "openai_api_key"}

_CACHE_LIMIT = 65536
#: Values with no text in them (a number under a secret key is still redacted, by the dict branch).
_SCALARS = frozenset({int, float, bool, type(None)})
_PUNCTUATION = " \t\r\n'\"`,;:()[]{}"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SEPARATORS = re.compile(r"[\s\-.]+")


@attrs.frozen
class RedactionOptions:
    """The ``[redaction]`` section of a config: what to redact, and the replacement text."""

    #: False turns redaction off (the run's report records it).
    enabled: bool = True
    #: Redact e-mail addresses.
    email: bool = True
    #: Redact phone numbers (international ``+...`` and North American forms).
    phone: bool = True
    #: Use detect-secrets' detectors (vendor tokens, keyword assignments). Our own patterns for
    #: secret-named keys and flags, PEM private keys, ``sk-`` keys, bearer/Authorization headers
    #: run either way.
    detect_secrets: bool = True
    #: Dict keys (and ``--flags``) whose whole value is a secret.
    secret_keys: tuple[str, ...] = DEFAULT_SECRET_KEYS
    #: What a secret becomes; ``{kind}`` is replaced by the kind of secret.
    replacement: str = "[REDACTED:{kind}]"

    def __attrs_post_init__(self) -> None:
        try:
            self.replacement.format(kind="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"redaction.replacement {self.replacement!r} is not a format string with only "
                f"{{kind}} in it: {exc!r}"
            ) from None


def _snake(text: str) -> str:
    return _KEY_SEPARATORS.sub("_", _CAMEL.sub("_", text)).casefold().strip("_")


def _slug(secret_type: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", secret_type.casefold()).strip("_")
    return _RENAMED.get(slug, slug)


class Redactor:
    """Redacts secrets and e-mail addresses from trajectories (see the module docstring).

    ``redact(trajectory)`` returns the trajectory with every secret replaced by
    ``options.replacement`` (the same object when there was nothing to redact); ``counts`` holds
    how many of each kind were replaced so far, ``trajectories_redacted`` how many trajectories
    changed. A disabled redactor returns every trajectory unchanged and counts nothing.
    """

    def __init__(self, options: RedactionOptions | None = None):
        self.options = options or RedactionOptions()
        self.counts: dict[str, int] = {}
        self.trajectories_seen = 0
        self.trajectories_redacted = 0
        self._secret_keys = frozenset(_snake(key) for key in self.options.secret_keys)
        self._key_cache: dict[str, bool] = {}
        #: string -> (redacted, ((kind, count)...), ((value redacted, kind)...))
        self._text_cache: dict[str, tuple[str, tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]] = {}
        #: While a trajectory is redacted: every value redacted in it, and its kind.
        self._redacted: dict[str, str] | None = None
        self._markers: dict[str, str] = {}
        marker = re.escape(self.options.replacement).replace(re.escape("{kind}"), r"[a-z0-9_]+")
        self._marker_re = re.compile(marker)
        self._detectors: tuple[Detector, ...] = self._build() if self.options.enabled else ()
        ci_literals: set[str] = set()
        cs_literals: set[str] = set()
        #: Rules with no selective literal: on the fast path, their needs are checked and then
        #: the rule itself is searched.
        self._ungated: list[Rule] = []
        #: The gated rules by the literals of their gate.
        self._by_literal: dict[Literal, list[Rule]] = {}
        rules = [rule for detector in self._detectors for rule in detector.rules]
        #: Each rule's detector, by its index in ``_detectors`` (the order they run in).
        self._detector_of = {rule: i for i, detector in enumerate(self._detectors) for rule in detector.rules}
        #: Strings shorter than this cannot hold anything any rule finds.
        self._min_width = min((rule.min_width for rule in rules), default=0)
        for rule in rules:
            gate = rule.gate()
            if gate is None:
                self._ungated.append(rule)
                continue
            for literal in gate:
                self._by_literal.setdefault(literal, []).append(rule)
            for text, ci in gate:
                if ci or len(text) >= 3 or text.casefold() == text.upper():
                    ci_literals.add(text.casefold())
                else:
                    cs_literals.add(text)
        #: One search of the casefolded string for every selective literal (the fast path), and
        #: ``in`` tests of the string itself for the few short case-sensitive ones ("AC", "SK").
        self._gate_ci = trie_regex(minimal(ci_literals))
        self._gate_cs = tuple(sorted(cs_literals))

    # -- public --------------------------------------------------------------------------------

    def redact(self, trajectory: Trajectory) -> Trajectory:
        """The trajectory with its secrets replaced; counts are added to :attr:`counts`."""
        self.trajectories_seen += 1
        if not self.options.enabled:
            return trajectory
        before = sum(self.counts.values())
        self._redacted = redacted = {}
        invocations = []
        changed = False
        for invocation in trajectory.invocations:  # _redact_invocations, written out: the hot path
            parameters = self._walk(invocation.parameters)
            result = self._walk(invocation.result)
            error = self.redact_text(invocation.error) if invocation.error else invocation.error
            if parameters is invocation.parameters and result is invocation.result and error is invocation.error:
                invocations.append(invocation)
                continue
            changed = True
            invocations.append(attrs.evolve(invocation, parameters=parameters, result=result, error=error))
        texts = self._redact_texts(trajectory, self.redact_text)
        self._redacted = None
        if not changed and texts == (trajectory.user_request, trajectory.final_answer, trajectory.turns):
            return trajectory
        if redacted:  # what was redacted somewhere goes everywhere (see redaction_consistency)
            spreader = Spreader(redacted, self._marker_re, self._marker, self.counts)
            invocations = self._redact_invocations(invocations, spreader.value, spreader.text)
            texts = self._redact_texts(
                attrs.evolve(trajectory, user_request=texts[0], final_answer=texts[1], turns=texts[2]), spreader.text
            )
        if sum(self.counts.values()) > before:
            self.trajectories_redacted += 1
        request, answer, turns = texts
        return attrs.evolve(
            trajectory, invocations=tuple(invocations), user_request=request, final_answer=answer, turns=turns
        )

    @staticmethod
    def _redact_invocations(invocations: list[ToolInvocation], walk: Any, text: Any) -> list[ToolInvocation]:
        """Each invocation with ``walk`` applied to its parameters and result and ``text`` to its
        error (the same objects where nothing changed)."""
        out = []
        for invocation in invocations:
            parameters = walk(invocation.parameters)
            result = walk(invocation.result)
            error = text(invocation.error) if invocation.error else invocation.error
            if parameters is invocation.parameters and result is invocation.result and error is invocation.error:
                out.append(invocation)
            else:
                out.append(attrs.evolve(invocation, parameters=parameters, result=result, error=error))
        return out

    @staticmethod
    def _redact_texts(
        trajectory: Trajectory, text: Any
    ) -> tuple[str | None, str | None, tuple[AssistantTurn, ...]]:
        """The trajectory's free texts with ``text`` applied: the user's request, the final answer
        and each assistant turn's text (the same objects where nothing changed)."""
        request = text(trajectory.user_request) if trajectory.user_request else trajectory.user_request
        answer = text(trajectory.final_answer) if trajectory.final_answer else trajectory.final_answer
        turns = trajectory.turns
        if any(turn.text for turn in turns):
            redacted = tuple(
                attrs.evolve(turn, text=new) if turn.text and (new := text(turn.text)) is not turn.text else turn
                for turn in turns
            )
            turns = redacted if any(a is not b for a, b in zip(redacted, turns)) else turns
        return request, answer, turns

    def redact_value(self, value: Any) -> Any:
        """Any JSON-like value with its secrets replaced (the same object when nothing was)."""
        return self._walk(value) if self.options.enabled else value

    def redact_text(self, text: str) -> str:
        """One string with its secrets replaced (the same object when nothing was)."""
        if not self.options.enabled or not text:
            return text
        cached = self._text_cache.get(text)
        if cached is not None:
            for kind, n in cached[1]:
                self.counts[kind] = self.counts.get(kind, 0) + n
            if cached[2] and self._redacted is not None:
                self._redacted.update(cached[2])
            return cached[0] if cached[1] else text
        out, found, values = self._scan(text)
        for kind, n in found:
            self.counts[kind] = self.counts.get(kind, 0) + n
        if values and self._redacted is not None:
            self._redacted.update(values)
        if len(self._text_cache) >= _CACHE_LIMIT:
            self._text_cache.clear()
        self._text_cache[text] = (out, found, values)
        return out if found else text

    def is_secret_key(self, key: str) -> bool:
        """True when a dict key (or flag name) names a secret: its whole value is redacted."""
        hit = self._key_cache.get(key)
        if hit is None:
            words = _snake(key)
            hit = words in self._secret_keys or any(words.endswith("_" + k) for k in self._secret_keys)
            if len(self._key_cache) < _CACHE_LIMIT:
                self._key_cache[key] = hit
        return hit

    def stats(self) -> dict[str, Any]:
        """The ``redaction`` block of dataset_stats.json and of the run report."""
        return {
            "enabled": self.options.enabled,
            "email": self.options.email,
            "phone": self.options.phone,
            "detect_secrets": self.options.detect_secrets,
            "trajectories_seen": self.trajectories_seen,
            "trajectories_redacted": self.trajectories_redacted,
            "counts": dict(sorted(self.counts.items())),
        }

    # -- scanning ------------------------------------------------------------------------------

    def _scan(self, text: str) -> tuple[str, tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]:
        """The string redacted, how many of each kind, and each value redacted with its kind."""
        if len(text) < self._min_width:
            return text, (), ()
        low = text.casefold()
        candidates = self._candidates(text, low)
        if not candidates:
            return text, (), ()
        found: dict[str, int] = {}
        values: dict[str, str] = {}
        out = text
        detectors = self._detectors
        for index in sorted({self._detector_of[rule] for rule in candidates}):  # the others find nothing
            detector = detectors[index]
            spans = merged(detector.spans(out, low, candidates))
            if spans and self._marker_re.search(out):
                # Never redact into what is redacted already (idempotent, counted once).
                done = [m.span() for m in self._marker_re.finditer(out)]
                spans = [(s, e) for s, e in spans if not any(s < de and ds < e for ds, de in done)]
            if not spans:
                continue
            marker = self._marker(detector.kind)
            for start, end in reversed(spans):
                value = out[start:end]
                if worth_spreading(value):
                    values.setdefault(value, detector.kind)
                out = out[:start] + marker + out[end:]
            low = out.casefold()
            found[detector.kind] = found.get(detector.kind, 0) + len(spans)
        return out, tuple(found.items()), tuple(values.items())

    def _candidates(self, text: str, low: str) -> set[Rule]:
        """The rules that may find something in the string; empty proves none can. The fast path
        is the first line: one regex search, a few ``in`` tests, the ungated rules."""
        ungated = {rule for rule in self._ungated if rule.could_match(text, low)}
        if (self._gate_ci is None or self._gate_ci.search(low) is None) and not any(
            literal in text for literal in self._gate_cs
        ):
            return ungated
        for (literal, ci), rules in self._by_literal.items():
            if (literal in low) if ci else (literal in text):
                ungated.update(rules)
        return ungated

    def _walk(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self.redact_text(value)
        if kind in _SCALARS:
            return value
        if isinstance(value, dict):
            out = None
            keys, texts = self._key_cache, self._text_cache
            for key, item in value.items():
                if item is None or item is True or item is False:
                    continue
                secret = keys.get(key) if type(key) is str else False
                if secret is None:
                    secret = self.is_secret_key(key)
                if secret and self._redactable(item):
                    new = self._marker("secret_parameter")
                    if type(item) is str and self._redacted is not None:
                        self._remember(item)
                    self.counts["secret_parameter"] = self.counts.get("secret_parameter", 0) + 1
                elif type(item) is str:
                    cached = texts.get(item)
                    if cached is not None and not cached[1]:
                        continue  # seen before, nothing in it (the cache hit that redact_text counts nothing for)
                    new = self.redact_text(item)
                elif type(item) in _SCALARS:
                    continue
                else:
                    new = self._walk(item)
                if new is not item:
                    if out is None:
                        out = dict(value)
                    out[key] = new
            return value if out is None else out
        if isinstance(value, (list, tuple)):
            items = None
            for i, item in enumerate(value):
                if type(item) in _SCALARS:
                    continue
                new = self.redact_text(item) if type(item) is str else self._walk(item)
                if new is not item:
                    if items is None:
                        items = list(value)
                    items[i] = new
            if items is None:
                return value
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, str):  # a str subclass
            return self.redact_text(value)
        return value

    def _remember(self, value: str) -> None:
        """A secret-named key's whole value, to spread; and the credentials of ``<scheme> <credentials>``."""
        if worth_spreading(value):
            self._redacted.setdefault(value, "secret_parameter")
            last = value.split()[-1]
            if last != value and len(last) >= 8:
                self._redacted.setdefault(last, "secret_parameter")

    def _redactable(self, value: Any) -> bool:
        if value is None or isinstance(value, bool) or value in ("", {}, []):
            return False
        if isinstance(value, str):  # already a replacement: leave it (and count it once)
            return self._marker_re.search(value) is None or bool(self._marker_re.sub("", value).strip(_PUNCTUATION))
        return True

    def _marker(self, kind: str) -> str:
        marker = self._markers.get(kind)
        if marker is None:
            marker = self._markers[kind] = self.options.replacement.format(kind=kind)
        return marker

    # -- building ------------------------------------------------------------------------------

    def _build(self) -> tuple[Detector, ...]:
        detectors = self._private_key_detectors()
        if self.options.detect_secrets:
            detectors.extend(self._plugin_detectors())
        detectors += [Detector(kind, (Rule(p, 1 if p.groups else None),)) for kind, p in VENDOR_PATTERNS]
        detectors += [
            Detector("anthropic_api_key", (Rule(ANTHROPIC),)),
            Detector("openai_api_key", (Rule(OPENAI),)),
            Detector("bearer_token", (Rule(BEARER),)),
            Detector("authorization_header", (Rule(AUTH_HEADER),)),
            Detector("basic_auth_credentials", (Rule(URL_PASSWORD, 1),)),
        ]
        if self.options.detect_secrets:
            detectors.append(self._keyword_detector())
        if self._secret_keys:
            detectors.append(Detector("secret_parameter", (Rule(self._flag_pattern(), 1), Rule(XML_SECRET, 2))))
        aws_secret = Rule(AWS_SECRET, cheap_gate=has_base64_run)
        detectors.append(Detector("aws_secret_access_key", (aws_secret,), is_aws_secret))
        if self.options.email:
            detectors.append(Detector("email", (Rule(EMAIL),)))
        if self.options.phone:
            detectors.append(Detector("phone_number", (Rule(PHONE, 0, has_phone_digits),), is_phone_number))
        return tuple(detectors)

    def _key_words(self) -> str:
        words = sorted({re.escape(k).replace("_", "[-_]?") for k in self._secret_keys}, key=len, reverse=True)
        return "(?i:" + "|".join(words) + ")"

    def _flag_pattern(self) -> re.Pattern[str]:
        return re.compile(r"(?<![\w-])--?(?:[\w-]*[-_])?" + self._key_words() + r"(?:=|\s+)(?!-)[\"']?([^\s\"']+)")

    def _assignment_rules(self) -> tuple[Rule, ...]:
        """A value assigned to a secret-named key in code, config or a query string: quoted
        (``client_secret="..."``, ``pwd := "..."``, ``"token": "..."``) or after ``=``
        (``DB_PASSWORD=...``, ``?token=...&``). detect-secrets' keyword patterns want the value to
        begin with a letter or digit, and know no ``token``."""
        key = r"(?<![\w-])(?!-)(?:[\w-]*[-_])?" + self._key_words()
        quoted = re.compile(key + r"[\"']?\s*(?::=|=|:)\s*([\"'`])([^\"'`\n]{1,256})\1")
        bare = re.compile(key + r"=(?![\"'`\s])([^\s\"'`,;&]{1,256})")
        return Rule(quoted, 2), Rule(bare, 1)

    def _private_key_detectors(self) -> list[Detector]:
        detectors = [Detector("private_key", (Rule(PEM_BLOCK, 0),))]
        if self.options.detect_secrets:
            PrivateKeyDetector = _detect_secrets("plugins.private_key").PrivateKeyDetector

            # A hit left once PEM blocks are gone (a PuTTY key, an unusual header): all of it goes.
            rules = tuple(Rule(pattern) for pattern in PrivateKeyDetector.denylist)
            detectors.append(Detector("private_key", rules, whole=True))
        return detectors

    def _plugin_detectors(self) -> Iterator[Detector]:
        util, base = _detect_secrets("core.plugins.util"), _detect_secrets("plugins.base")
        for secret_type, cls in sorted(util.get_mapping_from_secret_type_to_class().items()):
            if cls.__name__ in EXCLUDED_PLUGINS or not issubclass(cls, base.RegexBasedDetector):
                continue
            try:
                plugin = cls()
            except TypeError:  # a future plugin that needs settings: skip rather than guess them
                continue

            def keep(text: str, start: int, end: int, plugin=plugin, memo={}) -> bool:  # noqa: B006
                # The plugin's own analyze_string decides (JWT checks the token decodes, for one).
                if memo.get("text") is not text:
                    memo["text"], memo["values"] = text, set(plugin.analyze_string(text))
                return text[start:end] in memo["values"]

            rules = tuple(Rule(pattern) for pattern in plugin.denylist)
            yield Detector(_slug(secret_type), rules, keep, widen=True)

    def _keyword_detector(self) -> Detector:
        heuristic, keyword = _detect_secrets("filters.heuristic"), _detect_secrets("plugins.keyword")
        patterns = {**keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP, **keyword.CONFIG_DENYLIST_REGEX_TO_GROUP}

        def keep(text: str, start: int, end: int) -> bool:
            value = text[start:end].strip()
            line_end = text.find("\n", end)
            line = text[text.rfind("\n", 0, start) + 1 : len(text) if line_end < 0 else line_end]
            return not (
                not value
                or heuristic.is_templated_secret(value)
                or heuristic.is_prefixed_with_dollar_sign(value)
                or heuristic.is_not_alphanumeric_string(value)
                or heuristic.is_sequential_string(value)
                or heuristic.is_potential_uuid(value)
                or heuristic.is_indirect_reference(line)
            )

        rules = tuple(Rule(p, g) for p, g in patterns.items())
        if self._secret_keys:
            rules += self._assignment_rules()
        return Detector("secret_keyword", rules, keep)


def _detect_secrets(module: str) -> Any:
    """A module of detect-secrets (a dependency of deepeyes), with a clear error if it is missing."""
    import importlib

    try:
        return importlib.import_module(f"detect_secrets.{module}")
    except ImportError as exc:  # pragma: no cover - only a broken install lacks it
        raise ImportError(
            "secret redaction uses detect-secrets, a dependency of deepeyes: pip install 'detect-secrets>=1.5' "
            "(or set detect_secrets = false in the [redaction] section)"
        ) from exc
