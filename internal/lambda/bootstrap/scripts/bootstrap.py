"""Portico's bootstrap for the python3.x Lambda runtimes.

It speaks the Lambda Runtime API (2018-06-01) to AWS_LAMBDA_RUNTIME_API
over one keep-alive HTTP connection, imports the handler named by _HANDLER
from LAMBDA_TASK_ROOT and runs it once per invocation, as the managed
runtime does. Standard library only.

Portico extension: a handler that returns a generator streams its response
(Lambda-Runtime-Function-Response-Mode: streaming); each yielded str or bytes
is sent as one chunk.
"""

import base64
import decimal
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback
import types

_API_PREFIX = "/2018-06-01/runtime"

# A streamed HTTP response: a JSON prelude, eight NUL bytes, then the body.
_HTTP_INTEGRATION_TYPE = "application/vnd.awslambda.http-integration-response"
_PRELUDE_END = b"\x00" * 8
_BOOTSTRAP_FILE = os.path.abspath(__file__)

_request_id = None  # the invocation being handled, for log records


class RuntimeFault(Exception):
    """An error of the runtime (not of the handler), with its Lambda type."""

    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# --- Runtime API client ----------------------------------------------------


class ProtocolError(Exception):
    """The Runtime API answered something that is not HTTP/1.1."""


class RuntimeClient(object):
    """One keep-alive HTTP/1.1 connection to the Runtime API; reconnects on
    failure.

    It speaks HTTP on a plain socket rather than through http.client: the
    Runtime API needs only a sliver of HTTP, and http.client (with the email
    package it imports) costs about 15 ms at every cold start and a good
    part of the per-invocation overhead."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self.host = host
        self.port = int(port)
        self.host_header = ("Host: %s\r\n" % address).encode("ascii")
        self.sock = None
        self.rfile = None

    def _connect(self):
        if self.sock is None:
            sock = socket.create_connection((self.host, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = sock
            self.rfile = sock.makefile("rb")
        return self.sock

    def _drop(self):
        if self.sock is not None:
            for f in (self.rfile, self.sock):
                try:
                    f.close()
                except Exception:
                    pass
            self.sock = self.rfile = None

    def _head(self, method, path, headers):
        lines = ["%s %s HTTP/1.1\r\n" % (method, path)]
        for name, value in headers.items():
            lines.append("%s: %s\r\n" % (name, value))
        return lines[0].encode("latin-1") + self.host_header + "".join(lines[1:]).encode("latin-1")

    def _read_response(self):
        """Reads one response: (status, headers with lower-case names,
        body, whether the server will close the connection)."""
        rfile = self.rfile
        while True:
            line = rfile.readline(65537)
            if not line:
                raise ProtocolError("connection closed before a response")
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise ProtocolError("bad status line %r" % line[:80])
            status = int(parts[1])
            fields = {}
            while True:
                line = rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                fields[name.strip().lower()] = value.strip()
            if status >= 200:
                break
        close = "close" in fields.get("connection", "").lower() or parts[0] == b"HTTP/1.0"
        if status in (204, 304):
            body = b""
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(rfile.readline(65537).split(b";", 1)[0], 16)
                if size == 0:
                    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(rfile.read(size))
                rfile.readline(65537)
            body = b"".join(chunks)
        elif "content-length" in fields:
            n = int(fields["content-length"])
            body = rfile.read(n)
            if len(body) != n:
                raise ProtocolError("connection closed mid-body")
        else:
            body, close = rfile.read(), True
        return status, fields, body, close

    def request(self, method, path, body=None, headers=None):
        """Sends one request; returns (status, headers, body), the headers
        as a dict with lower-case names.

        A request that fails on a kept-alive connection (the server may have
        closed it while idle) is retried once on a fresh connection.
        """
        hdrs = dict(headers or {})
        if body is not None or method == "POST":
            hdrs["Content-Length"] = str(len(body or b""))
        data = self._head(method, path, hdrs) + b"\r\n" + (body or b"")
        for attempt in (0, 1):
            try:
                self._connect().sendall(data)
                status, fields, resp, close = self._read_response()
                if close:
                    self._drop()
                return status, fields, resp
            except (ProtocolError, ValueError, OSError):
                self._drop()
                if attempt == 1:
                    raise

    def next(self):
        status, headers, body = self.request("GET", _API_PREFIX + "/invocation/next")
        if status != 200:
            raise RuntimeError(
                "runtime API /next answered %d: %s" % (status, body.decode("utf-8", "replace"))
            )
        return headers, body

    def post_response(self, request_id, body, content_type):
        return self.request(
            "POST",
            "%s/invocation/%s/response" % (_API_PREFIX, request_id),
            body,
            {"Content-Type": content_type},
        )

    def post_error(self, request_id, error):
        return self.request(
            "POST",
            "%s/invocation/%s/error" % (_API_PREFIX, request_id),
            to_json(error).encode("utf-8"),
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": error["errorType"],
            },
        )

    def post_init_error(self, error):
        return self.request(
            "POST",
            _API_PREFIX + "/init/error",
            to_json(error).encode("utf-8"),
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": error["errorType"],
            },
        )

    def stream_response(self, request_id, first, chunks, content_type="application/octet-stream"):
        """Posts a streamed response: first (bytes) then the chunks of the
        iterator. Returns the error dict when the iterator failed mid-stream
        (it is then sent in the trailers), None otherwise."""
        sock = self._connect()
        try:
            sock.sendall(
                self._head(
                    "POST",
                    "%s/invocation/%s/response" % (_API_PREFIX, request_id),
                    {
                        "Content-Type": content_type,
                        "Lambda-Runtime-Function-Response-Mode": "streaming",
                        "Transfer-Encoding": "chunked",
                        "Trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
                    },
                )
                + b"\r\n"
            )
            if first:
                sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
            failure = None
            while True:
                try:
                    chunk = _chunk_bytes(next(chunks))
                except StopIteration:
                    break
                except Exception:
                    failure = error_from_exception(sys.exc_info(), request_id)
                    break
                if chunk:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if failure is None:
                sock.sendall(b"0\r\n\r\n")
            else:
                body = base64.b64encode(to_json(failure).encode("utf-8"))
                sock.sendall(
                    b"0\r\nLambda-Runtime-Function-Error-Type: "
                    + failure["errorType"].encode("utf-8")
                    + b"\r\nLambda-Runtime-Function-Error-Body: "
                    + body
                    + b"\r\n\r\n"
                )
            _, _, _, close = self._read_response()
            if close:
                self._drop()
            return failure
        except (ProtocolError, ValueError, OSError):
            self._drop()
            raise


def _chunk_bytes(chunk):
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise RuntimeFault(
        "Runtime.MarshalError",
        "Unable to marshal response: stream chunk of type %s is not str or bytes"
        % type(chunk).__name__,
    )


# --- JSON ------------------------------------------------------------------


def _json_default(obj):
    if isinstance(obj, decimal.Decimal):
        if obj == obj.to_integral_value():
            return int(obj)
        return float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


# AWS's python3.12 runtime writes non-ASCII characters as they are; the other
# versions escape them.
_ENSURE_ASCII = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"


def to_json(obj):
    return json.dumps(obj, default=_json_default, ensure_ascii=_ENSURE_ASCII)


# --- errors ----------------------------------------------------------------


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def error_from_exception(exc_info, request_id=None):
    etype, value, tb = exc_info
    if isinstance(value, RuntimeFault):
        return make_error(value.message, value.error_type, value.trace, request_id)
    frames = traceback.extract_tb(tb)
    # Drop the bootstrap's own frames at the top.
    while frames and frames[0].filename == _BOOTSTRAP_FILE:
        frames = frames[1:]
    return make_error(str(value), etype.__name__, traceback.format_list(frames), request_id)


def log_error(error):
    """Writes an error to stdout as the managed runtime does: one record,
    lines joined with carriage returns, indentation as no-break spaces."""
    head = "[ERROR]"
    if error.get("errorType"):
        head += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            head += ":"
        head += " " + error["errorMessage"]
    lines = [head]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")


# --- logging ---------------------------------------------------------------


class _RequestIDFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIDFilter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level == "WARN":
        level = "WARNING"
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        root.setLevel(level)
    root.addHandler(handler)


# --- handler ---------------------------------------------------------------


def load_handler(handler, task_root):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise RuntimeFault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % modname,
        )
    # The code directory comes first on sys.path; the bootstrap's own
    # directory (Python's sys.path[0] for a script) does not belong there.
    script_dir = os.path.dirname(_BOOTSTRAP_FILE)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != script_dir]
    sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise RuntimeFault(
            "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise RuntimeFault(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (modname, e),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise RuntimeFault(
            "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname)
        )


# --- context ---------------------------------------------------------------


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self, d):
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __init__(self, d):
        for name in self.__slots__:
            setattr(self, name, d.get(name))


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __init__(self, d):
        self.custom = d.get("custom")
        self.env = d.get("env")
        client = d.get("client")
        self.client = Client(client) if isinstance(client, dict) else client


class LambdaContext(object):
    """The context object handlers receive, with the managed runtime's
    attributes."""

    def __init__(self, request_id, deadline_ms, arn, client_context, identity, tenant_id):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.invoked_function_arn = arn
        self.tenant_id = tenant_id
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity(identity or {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _json_header(headers, name, what):
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except Exception as e:
        raise RuntimeFault(
            "Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (what, e)
        )


# --- invoke loop -----------------------------------------------------------


def handle(client, handler, headers, body):
    global _request_id
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    try:
        try:
            deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)
        except ValueError:
            deadline_ms = 0
        context = LambdaContext(
            request_id,
            deadline_ms,
            headers.get("lambda-runtime-invoked-function-arn"),
            _json_header(headers, "lambda-runtime-client-context", "Client Context"),
            _json_header(headers, "lambda-runtime-cognito-identity", "Cognito Identity"),
            headers.get("lambda-runtime-aws-tenant-id"),
        )
        content_type = headers.get("content-type") or "application/json"
        if content_type == "application/json":
            try:
                event = json.loads(body)
            except Exception as e:
                raise RuntimeFault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        else:
            event = body
        result = handler(event, context)
        stream = isinstance(result, types.GeneratorType)
        if stream:
            first, stream_type = b"", "application/octet-stream"
            # Pull until the first non-empty chunk: an error before anything
            # was sent is an ordinary function error.
            for chunk in result:
                if isinstance(chunk, dict):
                    # Portico extension: a dict yielded first is the HTTP
                    # response's prelude (statusCode, headers, cookies), as
                    # Node.js's awslambda.HttpResponseStream.from sends it.
                    first = to_json(chunk).encode("utf-8") + _PRELUDE_END
                    stream_type = _HTTP_INTEGRATION_TYPE
                    break
                first = _chunk_bytes(chunk)
                if first:
                    break
        elif isinstance(result, bytes):
            payload, payload_type = result, "application/unknown"
        else:
            try:
                payload, payload_type = to_json(result).encode("utf-8"), "application/json"
            except Exception as e:
                raise RuntimeFault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
    except Exception:
        error = error_from_exception(sys.exc_info(), request_id)
        log_error(error)
        client.post_error(request_id, error)
        return
    if stream:
        failure = client.stream_response(request_id, first, result, stream_type)
        if failure is not None:
            log_error(failure)
    else:
        client.post_response(request_id, payload, payload_type)


def main():
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    setup_logging()
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""), task_root)
    except Exception:
        error = error_from_exception(sys.exc_info())
        log_error(error)
        client.post_init_error(error)
        sys.exit(1)
    while True:
        headers, body = client.next()
        handle(client, handler, headers, body)


class _Unbuffered(object):
    """Flushes after every write, so log lines reach the runner at once even
    when PYTHONUNBUFFERED is not set."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, data):
        n = self._stream.write(data)
        self._stream.flush()
        return n

    def writelines(self, lines):
        self._stream.writelines(lines)
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


if __name__ == "__main__":
    main()
