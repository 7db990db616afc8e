"""Secret and PII redaction (issue 3): planted secrets of every kind go, clean text stays, the switch
turns it all off, and the fast path never skips a string a detector would have matched."""

from __future__ import annotations

import base64
import json

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepeyes_core import ConfigError, Trajectory
from deepeyes_core.redaction import RedactionOptions, Redactor

from .conftest import invocation

# Fake secrets, built at run time so that secret scanners do not flag this file.
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"
SLACK = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
ANTHROPIC = "sk-" + "ant-api03-" + "Xy7_kQ2-" * 6
OPENAI = "sk-" + "proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1w"
OPENAI_LEGACY = "sk-" + "abcdefghij0123456789" + "T3Blbk" + "FJ" + "abcdefghij0123456789"


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


JWT = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': '1234567890'})}.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\nq9Zr+YwK\n-----END RSA " + "PRIVATE KEY-----"

#: (text with a planted secret, the secret, the kind counted)
PLANTED = [
    (f"export AWS_ACCESS_KEY_ID={AWS_KEY}", AWS_KEY, "aws_access_key"),
    (f"token is {GITHUB} ok", GITHUB, "github_token"),
    (f"slack {SLACK}", SLACK, "slack_token"),
    (f"stripe key {STRIPE}", STRIPE, "stripe_access_key"),
    (f"session={JWT}; path=/", JWT, "json_web_token"),
    (f"key:\n{PEM}\nthanks", "MIIEpAIBAAKCAQEA7bq", "private_key"),
    ("PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 14\nAAAAB3NzaC1yc2E", "AAAAB3NzaC1yc2E", "private_key"),
    (f"use {ANTHROPIC} for claude", ANTHROPIC, "anthropic_api_key"),
    (f"OPENAI_API_KEY={OPENAI}", OPENAI, "openai_api_key"),
    (f"legacy {OPENAI_LEGACY}", OPENAI_LEGACY, "openai_api_key"),
    ("curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0' x", "9f8e7d6c5b4a3928", "bearer_token"),
    ("Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy", "authorization_header"),
    ("postgres://admin:s3cr3t-pw@db.internal:5432/app", "s3cr3t-pw", "basic_auth_credentials"),
    ('{"password": "Tr0ub4dor&3", "user": "bob"}', "Tr0ub4dor&3", "secret_keyword"),
    ("db_password = hunter2", "hunter2", "secret_keyword"),
    ("mysql -u root --password hunter2x -e 'select 1'", "hunter2x", "secret_parameter"),
    ("deploy --api-key=abc123xyz789", "abc123xyz789", "secret_parameter"),
    ("mail jane.doe+test@example.co.uk about it", "jane.doe+test@example.co.uk", "email"),
]


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(("text", "secret", "kind"), PLANTED, ids=[p[2] for p in PLANTED])
def test_planted_secret_is_redacted_and_counted(text, secret, kind):
    redactor = Redactor()
    out = redactor.redact_text(text)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out
    assert redactor.counts.get(kind, 0) >= 1


def test_redaction_keeps_the_text_around_a_secret(redactor):
    assert redactor.redact_text(f"key {AWS_KEY} here") == "key [REDACTED:aws_access_key] here"
    assert redactor.redact_text(f"x\n{PEM}\ny") == "x\n[REDACTED:private_key]\ny"
    assert (
        redactor.redact_text("postgres://admin:pw123@db:5432/x")
        == "postgres://admin:[REDACTED:basic_auth_credentials]@db:5432/x"
    )
    assert redactor.redact_text("Bearer abc123def456") == "Bearer [REDACTED:bearer_token]"


CLEAN = [
    "What's the weather in Paris right now?",
    "SELECT id, total FROM orders WHERE customer_id = 42 AND status = 'shipped'",
    "git clone git@github.com:org/repo.git",  # scp syntax, not an address of a person
    "bearer of bad news",
    "max_tokens must be positive",
    "commit 3f9a2c1d4e5b6a7980c1d2e3f4a5b6c7d8e9f0a1",  # a SHA: high entropy, not a secret
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "request 123e4567-e89b-12d3-a456-426614174000 done",
    "password: ${DB_PASSWORD}",  # templated, detect-secrets' own filter
    "password = get_password()",  # indirect reference, detect-secrets' own filter
    "https://api.example.com/v2/items?page=3",
    "the key is under the mat; the token ring was IBM's",
    "",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_strings_are_untouched(text):
    redactor = Redactor()
    assert redactor.redact_text(text) is text
    assert redactor.counts == {}


def _trajectory(**overrides) -> Trajectory:
    first = invocation("http_request", at=0, url="https://api.example.com", headers={"Accept": "application/json"})
    second = attrs.evolve(
        invocation("send_email", at=1, to="team", subject="report"),
        result={"sent": True, "id": 7},
        error=None,
    )
    fields = {"agent_name": "A", "invocations": (first, second), "session_id": "s1", "user_request": "Send the report"}
    fields.update(overrides)
    return Trajectory(**fields)


def test_clean_trajectory_is_returned_as_is(redactor):
    trajectory = _trajectory()
    assert redactor.redact(trajectory) is trajectory


def test_trajectory_is_walked_everywhere():
    inv = invocation(
        "http_request",
        url="https://api.example.com",
        headers={"Authorization": "Bearer abcdef123456", "X-Api-Key": "k-123", "Accept": "text/plain"},
        body={"users": [{"email": "ann@example.com", "apiKey": 12345, "token": None, "max_tokens": 100}]},
    )
    inv = attrs.evolve(
        inv,
        result={"log": [f"deployed with {AWS_KEY}", "ok"], "count": 3},
        error="login failed for bob@example.org",
    )
    trajectory = Trajectory("A", (inv,), "s1", user_request="my address is carl@example.net")
    redactor = Redactor()
    out = redactor.redact(trajectory)
    call = out.invocations[0]
    assert call.parameters["headers"] == {
        "Authorization": "[REDACTED:secret_parameter]",
        "X-Api-Key": "[REDACTED:secret_parameter]",
        "Accept": "text/plain",
    }
    user = call.parameters["body"]["users"][0]
    assert user == {
        "email": "[REDACTED:email]", "apiKey": "[REDACTED:secret_parameter]", "token": None, "max_tokens": 100
    }
    assert call.result == {"log": ["deployed with [REDACTED:aws_access_key]", "ok"], "count": 3}
    assert call.error == "login failed for [REDACTED:email]"
    assert out.user_request == "my address is [REDACTED:email]"
    assert redactor.counts == {"secret_parameter": 3, "email": 3, "aws_access_key": 1}
    assert redactor.stats()["trajectories_redacted"] == 1
    assert trajectory.invocations[0].parameters["headers"]["X-Api-Key"] == "k-123"  # input untouched
    # Everything else of the records is kept.
    assert (call.tool_name, call.invocation_id, call.timestamp) == (inv.tool_name, inv.invocation_id, inv.timestamp)


def test_secret_keys_match_whole_words_only():
    redactor = Redactor()
    for key in ("password", "db_password", "apiKey", "X-Api-Key", "access_token", "clientSecret", "Authorization",
                "PRIVATE_KEY"):
        assert redactor.is_secret_key(key), key
    for key in ("max_tokens", "token_count", "secret_name", "keyword", "passage", "author"):
        assert not redactor.is_secret_key(key), key


def test_redaction_is_idempotent():
    redactor = Redactor()
    once = [redactor.redact_text(text) for text, _, _ in PLANTED]
    counts = dict(redactor.counts)
    again = Redactor()
    assert [again.redact_text(text) for text in once] == once
    assert again.counts == {}
    assert sum(counts.values()) >= len(PLANTED)
    done = {"password": "[REDACTED:secret_parameter]"}
    assert again.redact_value(done) == done
    assert again.counts == {}


def test_disabled_redactor_changes_nothing_and_says_so():
    redactor = Redactor(RedactionOptions(enabled=False))
    text = PLANTED[0][0]
    trajectory = _trajectory(user_request=f"{text} and {PLANTED[-1][0]}")
    assert redactor.redact(trajectory) is trajectory
    assert redactor.redact_text(text) is text
    assert redactor.redact_value({"password": "x"}) == {"password": "x"}
    assert redactor.counts == {}
    stats = redactor.stats()
    assert stats["enabled"] is False and stats["counts"] == {} and stats["trajectories_seen"] == 1


def test_switches_for_email_and_detect_secrets():
    no_email = Redactor(RedactionOptions(email=False))
    assert no_email.redact_text("ann@example.com") == "ann@example.com"
    builtin_only = Redactor(RedactionOptions(detect_secrets=False))
    assert builtin_only.redact_text(f"k {AWS_KEY}") == f"k {AWS_KEY}"  # a detect-secrets detector
    assert builtin_only.redact_text(f"k {ANTHROPIC}") == "k [REDACTED:anthropic_api_key]"  # ours
    assert builtin_only.redact_text(PEM) == "[REDACTED:private_key]"
    assert builtin_only.redact_value({"password": "x"}) == {"password": "[REDACTED:secret_parameter]"}


def test_replacement_and_secret_keys_are_options():
    redactor = Redactor(RedactionOptions(replacement="<{kind}>", secret_keys=("pin",)))
    assert redactor.redact_value({"pin": 1234, "password": "x"}) == {"pin": "<secret_parameter>", "password": "x"}
    assert redactor.redact_text(f"{AWS_KEY}") == "<aws_access_key>"
    with pytest.raises(ConfigError, match="replacement"):
        RedactionOptions(replacement="[REDACTED:{what}]")


def test_keyword_filters_look_at_the_line_of_the_secret():
    redactor = Redactor()
    text = "x = get_password()\npassword: hunter22"
    assert redactor.redact_text(text) == "x = get_password()\npassword: [REDACTED:secret_keyword]"


def test_results_are_cached_and_still_counted():
    redactor = Redactor()
    text = "write to ann@example.com"
    assert redactor.redact_text(text) == redactor.redact_text(text) == "write to [REDACTED:email]"
    assert redactor.counts == {"email": 2}


# -- the fast path is sound: it never skips a string one of the detectors' patterns matches ------

_REDACTOR = Redactor()
_RULES = [(detector.kind, rule) for detector in _REDACTOR._detectors for rule in detector.rules]


@pytest.mark.parametrize(("kind", "rule"), _RULES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(_RULES)])
def test_fast_path_never_skips_a_match(kind, rule):
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(rule.regex))
    def check(text):
        low = text.casefold()
        assert rule in _REDACTOR._candidates(text, low)
        assert len(text) >= _REDACTOR._min_width
        assert any(True for _ in rule.matches(text, low))  # keyword-anchored search finds it too

    check()


def test_every_detect_secrets_vendor_detector_is_used():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    from deepeyes_core.redaction import EXCLUDED_PLUGINS

    kinds = {detector.kind for detector in _REDACTOR._detectors}
    for secret_type, cls in get_mapping_from_secret_type_to_class().items():
        if cls.__name__ in EXCLUDED_PLUGINS or not issubclass(cls, RegexBasedDetector):
            continue
        slug = secret_type.casefold().replace(" ", "_").replace("(", "").replace(")", "")
        assert slug in kinds or cls.__name__ == "OpenAIDetector", secret_type
