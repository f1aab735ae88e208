"""Schemathesis hooks for scripts/server/schemathesis.sh: one check beyond the built-in ones.

Every error answer of quiver serve is a JSON body with a message a client can act on:
`{"error": {"message": ...}}` on the OpenAI-style routes, `{"code": N, "message": ...}` on the
Milvus REST routes (which answer errors with HTTP 200 and code != 0, as Milvus does).
"""
import schemathesis


@schemathesis.check
def error_is_json_with_message(ctx, response, case):
    """Error answers carry a JSON body with a non-empty message."""
    if case.method.upper() == "HEAD":
        return None
    path = case.operation.path
    status = response.status_code
    if status < 400 and not path.startswith("/v2/"):
        return None
    try:
        body = response.json()
    except Exception as e:  # noqa: BLE001 - any decoding failure is the finding
        if status < 400:
            return None if not path.startswith("/v2/") else _fail(f"{path}: HTTP {status} body is not JSON ({e})")
        raise AssertionError(f"{case.method} {path}: HTTP {status} error body is not JSON: {response.content[:200]!r}")
    if path.startswith("/v2/"):
        if status < 400 and body.get("code") == 0:
            return None
        message = body.get("message")
    else:
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        raise AssertionError(f"{case.method} {path}: HTTP {status} error without a message: {body!r:.300}")
    return None


def _fail(message):
    raise AssertionError(message)
