"""The planted-secret corpus of the redaction recall test ("Nothing lost, nothing leaked").

Rows of (kind, text, secret): a fake secret of each kind planted in strings as tool calls carry
them (bare, ``token=...``, JSON, URL, header, shell command, env, YAML, code, log line...). The
secrets are made at run time from one seeded ``random.Random`` (the same rows every run), so that
no file of the repository holds a string that secret scanners flag. ``python -m
tests.redaction_corpus`` prints the rows as JSON lines.

The negative corpus (strings that must come out unchanged: SHAs, UUIDs, hashes, base64 payloads,
prices, dates, versions, ids) has no secrets in it and is a data file,
``tests/data/redaction_negatives.jsonl``.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

_R = random.Random(20261204)
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits


def _rand(alphabet: str, n: int) -> str:
    return "".join(_R.choice(alphabet) for _ in range(n))


def _mixed(alphabet: str, n: int) -> str:
    """Random, with an upper and a lower letter and a digit in it (as generated keys have)."""
    while True:
        s = _rand(alphabet, n)
        if any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s):
            return s


def _b64url(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


#: Where a token-like secret is found in tool calls; neutral names, so that the vendor detector
#: (not a secret-named key) has to find it.
CONTEXTS: tuple[str, ...] = (
    "{s}",
    "token={s}",
    '{{"data": {{"value": "{s}"}}, "ok": true}}',
    "https://api.example.com/v1/items?key={s}&page=2",
    "X-Custom-Auth: {s}",
    'curl -s -H "X-Auth: {s}" https://api.example.com/v1/me',
    "export SERVICE_CRED={s}",
    "config:\n  client:\n    value: {s}\n",
    'client = Client("{s}")',
    "2025-11-10T12:00:00Z INFO using credential {s} for upload",
    "docker run -e CRED={s} app:latest",
    "The deploy failed with {s} as the key; retrying.",
)


def _token_rows(kind: str, make: Callable[[], str], contexts: tuple[str, ...] = CONTEXTS) -> list[tuple]:
    out = []
    for context in contexts:
        secret = make()
        out.append((kind, context.format(s=secret), secret))
    return out


def _pem(label: str) -> tuple[str, str]:
    body = "\n".join(_rand(B64, 64) for _ in range(4))
    return f"-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----\n", body.split("\n")[1]


def _jwt() -> str:
    header = _b64url({"alg": _R.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = _b64url({"sub": _rand(string.digits, 10), "name": "Jane Roe", "iat": 1731240000 + _R.randrange(10**6)})
    return f"{header}.{payload}.{_rand(URLSAFE, 43)}"


def _aws_secret() -> str:
    while True:
        s = _rand(B64, 40)
        if any(c.isupper() for c in s) and any(c.islower() for c in s):
            return s


def rows() -> list[tuple[str, str, str]]:
    """Every planted row: (kind, text, secret)."""
    out: list[tuple[str, str, str]] = []
    add = out.extend
    # -- cloud ------------------------------------------------------------------------------------
    add(_token_rows("aws_access_key", lambda: _R.choice(["AKIA", "ASIA"]) + _rand(UPPER_DIGITS, 16)))
    example = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # AWS' documented example key
    add([
        ("aws_secret_access_key", example, example),
        ("aws_secret_access_key", f"token={example}", example),
        ("aws_secret_access_key", f"aws_secret_access_key = {example}", example),
        ("aws_secret_access_key", f'{{"SecretAccessKey": "{example}", "Expiration": "2025-11-10T12:00:00Z"}}', example),
    ])
    add(_token_rows("aws_secret_access_key", _aws_secret))
    aws_contexts = (
        "[default]\naws_access_key_id = AKIA{a}\naws_secret_access_key = {s}\n",
        "export AWS_SECRET_ACCESS_KEY={s}",
        "aws configure set aws_secret_access_key {s}",
        '{{"Credentials": {{"AccessKeyId": "ASIA{a}", "SecretAccessKey": "{s}", "SessionToken": "x"}}}}',
    )
    for context in aws_contexts:
        secret = _aws_secret()
        out.append(("aws_secret_access_key", context.format(s=secret, a=_rand(UPPER_DIGITS, 16)), secret))
    for i in range(10):
        pem, line = _pem("")
        key_id = _rand(HEX, 40)
        doc = {
            "type": "service_account", "project_id": f"proj-{i}", "private_key_id": key_id, "private_key": pem,
            "client_email": f"svc-{i}@proj-{i}.iam.gserviceaccount.com", "client_id": _rand(string.digits, 21),
        }
        text = json.dumps(doc, indent=None if i % 2 else 2)
        if i >= 8:
            text = f"cat > key.json <<'EOF'\n{text}\nEOF"
        out.append(("gcp_service_account_key", text, key_id if i % 2 else line))
        if i < 4:
            out.append(("gcp_service_account_key", text, line if i % 2 else key_id))
    for i in range(10):
        key = _rand(B64, 86) + "=="
        account = f"acct{i}store"
        text = (f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
                "EndpointSuffix=core.windows.net")
        text = [text, f'export AZURE_STORAGE_CONNECTION_STRING="{text}"', json.dumps({"conn": text})][i % 3]
        out.append(("azure_storage_account_access_key", text, key))
    for i in range(10):
        key = _rand(B64, 43) + "="
        text = (f"Endpoint=sb://ns{i}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
                f"SharedAccessKey={key}")
        text = [text, f'{{"ServiceBus": "{text}"}}', f"az servicebus send --connection-string '{text}'"][i % 3]
        out.append(("azure_shared_access_key", text, key))
    # -- LLM providers ------------------------------------------------------------------------------
    add(_token_rows("anthropic_api_key", lambda: "sk-ant-api03-" + _rand(URLSAFE, 93) + "AA"))
    add(_token_rows("openai_api_key", lambda: _R.choice(["sk-proj-", "sk-", "sk-svcacct-"]) + _mixed(URLSAFE, 48)))
    add(_token_rows("google_api_key", lambda: "AIza" + _rand(URLSAFE, 35)))
    add(_token_rows("huggingface_token", lambda: "hf_" + _mixed(ALNUM, 34)))
    add(_token_rows("groq_api_key", lambda: "gsk_" + _mixed(ALNUM, 52)))
    add(_token_rows("xai_api_key", lambda: "xai-" + _mixed(ALNUM, 80)))
    add(_token_rows("replicate_api_token", lambda: "r8_" + _mixed(ALNUM, 37)))
    add(_token_rows("perplexity_api_key", lambda: "pplx-" + _rand(HEX, 48)))
    add(_token_rows("openrouter_api_key", lambda: "sk-or-v1-" + _rand(HEX, 64)))
    # -- detect-secrets' vendor detectors ---------------------------------------------------------
    add(_token_rows("github_token", lambda: _R.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + _mixed(ALNUM, 36)))
    add(_token_rows("github_token", lambda: "github_pat_" + _mixed(ALNUM, 22) + "_" + _mixed(ALNUM, 59))[:4])
    add(_token_rows("gitlab_token", lambda: "glpat-" + _mixed(URLSAFE, 20)))
    add(_token_rows("slack_token", lambda: f"xox{_R.choice('bpa')}-{_rand(string.digits, 12)}-{_rand(string.digits, 13)}-"
                    + _mixed(ALNUM, 24)))
    add(_token_rows("slack_token", lambda: f"https://hooks.slack.com/services/T{_rand(UPPER_DIGITS, 8)}/"
                    f"B{_rand(UPPER_DIGITS, 8)}/{_mixed(ALNUM, 24)}")[:4])
    add(_token_rows("stripe_access_key", lambda: _R.choice(["sk_live_", "rk_live_"]) + _mixed(ALNUM, 24)))
    add(_token_rows("sendgrid_api_key", lambda: f"SG.{_mixed(URLSAFE, 22)}.{_mixed(URLSAFE, 43)}"))
    add(_token_rows("pypi_token", lambda: "pypi-AgEIcHlwaS5vcmc" + _mixed(URLSAFE, 70)))
    add(_token_rows("npm_tokens", lambda: "npm_" + _mixed(ALNUM, 36)))
    add(_token_rows("twilio_api_key", lambda: _R.choice(["SK", "AC"]) + _rand(HEX, 32)))
    add(_token_rows("mailchimp_access_key", lambda: _rand(HEX, 32) + "-us" + str(_R.randrange(1, 20))))
    add(_token_rows("square_oauth_secret", lambda: "sq0csp-" + _mixed(URLSAFE, 43)))
    add(_token_rows("artifactory_credentials", lambda: "AKCp" + _mixed(ALNUM, 69)))
    add(_token_rows("discord_bot_token", lambda: f"{_R.choice('MN')}{_mixed(ALNUM, 23)}.{_mixed(URLSAFE, 6)}."
                    + _mixed(URLSAFE, 27)))
    add(_token_rows("telegram_bot_token", lambda: f"{_rand(string.digits, 10)}:AA{_mixed(URLSAFE, 33)}"))
    add(_token_rows("json_web_token", _jwt))
    for context in ("cloudant_password = '{s}'", "CLOUDANT_APIKEY={s}", "cloudant_api_key: \"{s}\"",
                    "https://user:{s}@acct.cloudant.com", "cl_key = '{s}'", "cloudant_pass={s}",
                    "cloudant_pwd: '{s}'", "export CLOUDANT_PASSWORD='{s}'", "cloudant-secret = \"{s}\"",
                    "cloudant_apikey = {s}"):
        # Cloudant's two formats: 64 hex digits, or 24 lower case letters (legacy API keys).
        secret = _rand(HEX, 64) if "pass" in context or "@" in context else _rand(string.ascii_lowercase, 24)
        out.append(("cloudant_credentials", context.format(s=secret), secret))
    for context in ("ibm_cloud_iam_api_key = '{s}'", "IBM_CLOUD_API_KEY={s}", "ibmcloud_iam_key: \"{s}\"",
                    "iam_api_key = {s}", "ibm-cloud-apikey: {s}", "export IBM_IAM_API_KEY={s}",
                    "ibm_apikey='{s}'", "cloud_iam_password = {s}", "ibm_iam_pwd: '{s}'", "iam-key = \"{s}\""):
        secret = _mixed(URLSAFE, 44)
        out.append(("ibm_cloud_iam_key", context.format(s=secret), secret))
    for context in ("cos_hmac_secret_access_key = '{s}'", "secret_access_key: \"{s}\"",
                    "ibm_cos_secret_access_key={s}", "hmac_secret_access_key = {s}", "cos-secret-access-key: {s}",
                    "export COS_SECRET_ACCESS_KEY={s}", "secret-access-key = '{s}'",
                    "{{\"cos_hmac_keys\": {{\"secret_access_key\": \"{s}\"}}}}", "SECRET_ACCESS_KEY: {s}",
                    "cos_secret_access_key: '{s}'"):
        secret = _rand(HEX, 48)
        out.append(("ibm_cos_hmac_credentials", context.format(s=secret), secret))
    for context in ("softlayer_api_key = '{s}'", "SOFTLAYER_API_KEY={s}", "sl_api_key: \"{s}\"",
                    "softlayer-key = {s}", "export SL_API_KEY={s}", "softlayer_password: '{s}'",
                    "https://api.softlayer.com/soap/v3.1/{s}", "softlayer_apikey = \"{s}\"",
                    "sl_key: {s}", "softlayer-api-key={s}"):
        secret = _rand(HEX, 64)
        out.append(("softlayer_credentials", context.format(s=secret), secret))
    for label in ("RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED ", "DSA ", "RSA ", "", "EC ", "OPENSSH "):
        pem, line = _pem(label)
        context = _R.choice(["{p}", "key:\n{p}\nthanks", '{{"key": "{q}"}}',
                             "echo '{p}' > ~/.ssh/id_rsa", "cat id_rsa\n{p}"])
        out.append(("private_key", context.format(p=pem, q=pem.replace("\n", "\\n")), line))
    out.append(("private_key", "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPrivate-Lines: 14\n"
                + "AAAAB3NzaC1yc2E" + _rand(B64, 40), "AAAAB3NzaC1yc2E"))
    # -- passwords, headers -----------------------------------------------------------------------------
    for context in ("postgres://admin:{s}@db.internal:5432/app", "mysql://root:{s}@127.0.0.1:3306/shop",
                    "redis://:{s}@cache.internal:6379/0", "https://deploy:{s}@git.example.com/org/repo.git",
                    "amqp://guest:{s}@rabbit:5672/", "mongodb+srv://app:{s}@cluster0.ab1cd.mongodb.net/db",
                    "git clone https://bob:{s}@github.com/org/private.git", "DATABASE_URL=postgresql://u:{s}@h/d",
                    '{{"dsn": "postgres://svc:{s}@10.0.0.5/app"}}', "ftp://anon:{s}@files.example.com/pub"):
        secret = _mixed(ALNUM + "-_.!", 14)
        out.append(("basic_auth_credentials", context.format(s=secret), secret))
    for context in ('{{"password": "{s}", "user": "bob"}}', "db_password = {s}", "password: '{s}'",
                    "DB_PASSWORD={s}", "<password>{s}</password>", "secret = \"{s}\"", "pwd := \"{s}\"",
                    "api_key: {s}", "'passwd': '{s}'", "client_secret=\"{s}\""):
        secret = _mixed(ALNUM + "!#%&*", 12)
        out.append(("secret_keyword", context.format(s=secret), secret))
    for context in ("mysql -u root --password {s} -e 'select 1'", "deploy --api-key={s}", "cli login --token {s}",
                    "psql --password={s} -h db", "app --client-secret {s} --verbose", "run --secret-key={s}",
                    "vault login -method=userpass --passwd={s}", "tool --access-token {s}",
                    "x --db-password '{s}'", "y -token={s}"):
        secret = _mixed(ALNUM, 14)
        out.append(("secret_parameter", context.format(s=secret), secret))
    for context in ("Authorization: Bearer {s}", "curl -H 'Authorization: Bearer {s}' https://x",
                    '{{"headers": {{"authorization": "Bearer {s}"}}}}', "Bearer {s}", "-H \"Authorization: bearer {s}\"",
                    "auth = 'Bearer {s}'", "requests.get(u, headers={{'Authorization': 'Bearer {s}'}})",
                    "AUTH_HEADER=Bearer {s}", "authorization: Token {s}", "Proxy-Authorization: Basic {s}"):
        secret = _mixed(URLSAFE + ".", 32)
        out.append(("bearer_token", context.format(s=secret), secret))
    # -- personal data ------------------------------------------------------------------------------
    for context in ("mail {s} about it", '{{"to": "{s}", "subject": "Q3"}}', "mailto:{s}", "From: Jane <{s}>",
                    "git config user.email {s}", "contact: {s}", "send_email(to='{s}')", "cc={s}&bcc=x",
                    "User {s} logged in", "{s}"):
        name = _R.choice(["jane.doe", "j.smith+news", "carl_o", "ana-maria", "li.wei99"])
        secret = f"{name}@{_R.choice(['example.com', 'mail.example.co.uk', 'corp.example.org', 'uni.example.edu'])}"
        out.append(("email", context.format(s=secret), secret))
    phones = ["+14155550123", "+1 (415) 555-0123", "(415) 555-0123", "415-555-0123", "+44 20 7946 0958",
              "+33 1 23 45 67 89", "+49 30 901820", "+1-212-555-0147", "415.555.0199", "+61 2 9876 5432",
              "+81 3-1234-5678", "+919876543210", "(212) 555-0100", "+34 912 345 678"]
    phone_contexts = ("{s}", '{{"phone": "{s}"}}', "call {s} after 5pm", "tel:{s}", "Contact: Jane Roe, {s}",
                      "sms_send(to='{s}', body='hi')", "phone={s}&name=x")
    for i, phone in enumerate(phones):
        out.append(("phone_number", phone_contexts[i % len(phone_contexts)].format(s=phone), phone))
    return out


if __name__ == "__main__":  # pragma: no cover
    for kind, text, secret in rows():
        print(json.dumps({"kind": kind, "text": text, "secret": secret}))
