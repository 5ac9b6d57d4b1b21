"""The SignalR JSON hub protocol as ASP.NET Core's server speaks it, without I/O.

No sockets, threads, asyncio or clock reads: text goes in, the texts to send come out, and the
time is passed in. The ASGI layer drives one :class:`HubConnection` per connection over
WebSockets, Server-Sent Events or Long Polling alike, so the three behave the same.

What it copies, and from where in ASP.NET Core (``src/SignalR``):

- framing: every message ends with the record separator ``0x1E`` (TextMessageParser); an
  incoming message over 32 KiB is refused (HubOptions.MaximumReceiveMessageSize);
- the handshake and its error texts (HandshakeProtocol, HubConnectionContext.HandshakeAsync,
  DefaultHubProtocolResolver): ``json``, in any case, at any version up to 2;
- the messages and how the server answers each (JsonHubProtocol, DefaultHubDispatcher,
  HubConnectionHandler), with EnableDetailedErrors off, its default: an exception's text
  reaches the client only when it is a HubException;
- keep-alive: a Ping when nothing was sent for 15 s (KeepAliveInterval); the client timeout
  (30 s) only once the client has pinged, as ASP.NET starts it.

Where ASP.NET does something no client could want, the difference is named where it is made.
"""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

RECORD_SEPARATOR = "\x1e"
_SEPARATOR = b"\x1e"

#: HubOptions.MaximumReceiveMessageSize's default, in bytes of UTF-8.
MAX_MESSAGE_SIZE = 32 * 1024
#: HubOptions.KeepAliveInterval: a Ping when the server sent nothing for this long (seconds).
KEEP_ALIVE_INTERVAL = 15.0
#: HubOptions.HandshakeTimeout (seconds).
HANDSHAKE_TIMEOUT = 15.0
#: HubOptions.ClientTimeoutInterval (seconds), counted only once the client has pinged.
CLIENT_TIMEOUT = 30.0
#: The JSON hub protocol's version; a handshake asking for any version up to it is accepted.
JSON_PROTOCOL_VERSION = 2

# Message types (HubProtocolConstants).
INVOCATION, STREAM_ITEM, COMPLETION, STREAM_INVOCATION, CANCEL_INVOCATION, PING, CLOSE, ACK, SEQUENCE = range(1, 10)

HANDSHAKE_CANCELED = "Handshake was canceled."
HANDSHAKE_FAILED = "An unexpected error occurred during connection handshake."
CONNECTION_CLOSED_WITH_AN_ERROR = "Connection closed with an error."
METHOD_DOES_NOT_EXIST = "Method does not exist."

SSE_CONTENT_TYPE = "text/event-stream"
#: What ServerSentEventsServerTransport writes before any message, so proxies flush the headers.
SSE_PREAMBLE = ":\r\n"
LONG_POLL_CONTENT_TYPE = "application/octet-stream"


def unsupported_protocol(protocol: str) -> str:
    return f"The protocol '{protocol}' is not supported."


def unsupported_version(protocol: str, version: int) -> str:
    return f"The server does not support version {version} of the '{protocol}' protocol."


def message_too_large(limit: int) -> str:
    """The InvalidDataException text HubConnectionHandler raises (the client sees only
    :data:`CONNECTION_CLOSED_WITH_AN_ERROR`; this is for the journal)."""
    return (f"The maximum message size of {limit}B was exceeded. "
            "The message size can be configured in AddHubOptions.")


class ProtocolError(Exception):
    """Input the server refuses: the connection ends. ``str()`` is ASP.NET's exception text."""


class MessageTooLarge(ProtocolError):
    """No record separator within the first :data:`MAX_MESSAGE_SIZE` bytes of a message."""


class HandshakeError(ProtocolError):
    """A handshake ASP.NET refuses; ``error`` is the text its handshake response carries."""

    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(detail or error)
        self.error = error


class HubError(Exception):
    """Raised by a hub method to send its text to the caller, as ASP.NET's HubException does
    (any other exception's text stays on the server)."""


# --- JSON as System.Text.Json writes it ---------------------------------------------------

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _surrogate_pair(match: re.Match) -> str:
    code = ord(match.group()) - 0x10000
    return "\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def dumps(value: object) -> str:
    """Compact JSON as SignalR's writer (System.Text.Json, UnsafeRelaxedJsonEscaping) makes it:
    no spaces, BMP text literal, a character outside the BMP as an upper-case surrogate pair
    (``\\uD83D\\uDE00``, dotnet/runtime#42847), the same rule as the REST answers."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot travel as UTF-8: escape all, still valid JSON
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    return _ASTRAL.sub(_surrogate_pair, text) if _ASTRAL.search(text) else text


# --- builders: what the server sends --------------------------------------------------------

def frame(payload: str) -> str:
    """One message on the wire: its JSON then the record separator."""
    return payload + RECORD_SEPARATOR


def handshake_response(error: str | None = None) -> str:
    """``{}`` on success (never with ``type``: clients refuse it), ``{"error": ...}`` otherwise."""
    return frame(dumps({"error": error}) if error else "{}")


def invocation(target: str, *arguments: object) -> str:
    """A server-to-client call, ``{"type":1,"target":T,"arguments":[...]}``, with no
    ``invocationId``: the server expects no answer, and every official client takes it so."""
    return frame(dumps({"type": INVOCATION, "target": target, "arguments": list(arguments)}))


_NO_RESULT = object()


def completion(invocation_id: str, *, result: object = _NO_RESULT, error: str | None = None) -> str:
    """The answer to a client's invocation: ``error`` when set, else ``result`` (``null``
    included) when given, else neither (a void method)."""
    body: dict = {"type": COMPLETION, "invocationId": invocation_id}
    if error:
        body["error"] = error
    elif result is not _NO_RESULT:
        body["result"] = result
    return frame(dumps(body))


PING_MESSAGE = frame('{"type":6}')


def ping() -> str:
    return PING_MESSAGE


def close_message(error: str | None = None, allow_reconnect: bool = False) -> str:
    """A Close: ``{"type":7}``, with ``error`` when given and ``"allowReconnect":true`` only when
    true (JsonHubProtocol writes neither otherwise)."""
    body: dict = {"type": CLOSE}
    if error is not None:
        body["error"] = error
    if allow_reconnect:
        body["allowReconnect"] = True
    return frame(dumps(body))


# --- framing ----------------------------------------------------------------------------------

class FrameParser:
    """Splits incoming text on the record separator, however it arrives.

    A chunk may hold several messages, or part of one; the incomplete tail waits for the next
    chunk. As HubConnectionHandler's sliding window does, a message whose record separator is
    not within the first ``max_message_size`` bytes raises :class:`MessageTooLarge`, as soon as
    more than that many bytes are buffered without one. Sizes are UTF-8 bytes, as on the wire.
    """

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes buffered without their record separator yet."""
        return len(self._buffer)

    def feed(self, data: str | bytes) -> list[bytes]:
        """The complete messages ``data`` finishes, without their separators, in order."""
        self._buffer += data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        messages: list[bytes] = []
        start = 0
        limit = self.max_message_size
        while True:
            end = self._buffer.find(_SEPARATOR, start)
            if end < 0:
                break
            if end - start >= limit:  # the separator fell outside the window
                self._buffer.clear()
                raise MessageTooLarge(message_too_large(limit))
            messages.append(bytes(self._buffer[start:end]))
            start = end + 1
        del self._buffer[:start]
        if len(self._buffer) > limit:
            self._buffer.clear()
            raise MessageTooLarge(message_too_large(limit))
        return messages


# --- reading JSON as Utf8JsonReader does -----------------------------------------------------

_JSON_BLANKS = " \t\n\r"
_DECODER = json.JSONDecoder(parse_constant=lambda name: _refuse(f"'{name}' is an invalid JSON literal."))
#: JsonReaderOptions.MaxDepth's default.
_MAX_DEPTH = 64


def _refuse(text: str) -> object:
    raise ProtocolError(text)


def _depth_within(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _read_object(payload: bytes) -> dict:
    """The JSON object a message holds. Like Utf8JsonReader in SignalR's parsers it reads the
    first value only (anything after the object's end is never looked at) and refuses what
    System.Text.Json refuses: not UTF-8, NaN and Infinity, nesting deeper than 64."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("Error reading JSON.") from None
    text = text.lstrip(_JSON_BLANKS)
    try:
        value, _ = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        raise ProtocolError("Error reading JSON.") from None
    if not isinstance(value, dict):
        raise ProtocolError("Unexpected JSON Token Type. Expected a JSON Object.")
    if not _depth_within(value, _MAX_DEPTH):
        raise ProtocolError("Error reading JSON.")
    return value


def _is_int(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value < high


# --- handshake --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Handshake:
    protocol: str
    version: int


def parse_handshake(payload: bytes | str) -> Handshake:
    """The client's handshake request, ``{"protocol":"json","version":N}`` (spaces allowed;
    other keys ignored), checked as ASP.NET checks it. Raises :class:`HandshakeError` whose
    ``error`` is the text of the refusal: a malformed request, or one without ``protocol`` or
    ``version``, gets the generic text, as ASP.NET hides the InvalidDataException's."""
    try:
        request = _read_object(payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload)
    except ProtocolError as malformed:
        raise HandshakeError(HANDSHAKE_FAILED, str(malformed)) from None
    protocol, version = request.get("protocol"), request.get("version")
    if "protocol" in request and not isinstance(protocol, str):
        raise HandshakeError(HANDSHAKE_FAILED, "Expected 'protocol' to be of type String.")
    if version is not None and not _is_int(version, -2**31, 2**31):
        raise HandshakeError(HANDSHAKE_FAILED, "Expected 'version' to be of type Number.")
    if protocol is None:
        raise HandshakeError(HANDSHAKE_FAILED, "Missing required property 'protocol'.")
    if version is None:
        raise HandshakeError(HANDSHAKE_FAILED, "Missing required property 'version'.")
    if protocol.casefold() != "json":  # the resolver's dictionary ignores case
        raise HandshakeError(unsupported_protocol(protocol))
    if version > JSON_PROTOCOL_VERSION:
        raise HandshakeError(unsupported_version(protocol, version))
    return Handshake(protocol, version)


# --- hub messages -----------------------------------------------------------------------------

def _check_fields(message: dict) -> int | None:
    """Validates the fields JsonHubProtocol reads whatever the type, returning the type
    (``None`` for a type this protocol does not know). Raises :class:`ProtocolError`."""
    for name in ("invocationId", "target", "error"):
        if name in message and not isinstance(message[name], str):
            raise ProtocolError(f"Expected '{name}' to be of type String.")
    if "allowReconnect" in message and not isinstance(message["allowReconnect"], bool):
        raise ProtocolError("Expected 'allowReconnect' to be true or false.")
    if "streamIds" in message:
        ids = message["streamIds"]
        if not isinstance(ids, list):
            raise ProtocolError("Expected 'streamIds' to be of type Array.")
        if not all(isinstance(i, str) for i in ids):
            raise ProtocolError("Expected 'streamIds' items to be strings.")
    if "arguments" in message and not isinstance(message["arguments"], list):
        raise ProtocolError("Expected 'arguments' to be of type Array.")
    if "headers" in message:
        headers = message["headers"]
        if not isinstance(headers, dict):
            raise ProtocolError("Expected 'headers' to be of type StartObject.")
        for key, value in headers.items():
            if not isinstance(value, str):
                raise ProtocolError(f"Expected header '{key}' to be of type String.")
    if "sequenceId" in message and not _is_int(message["sequenceId"], -2**63, 2**63):
        raise ProtocolError("Expected 'sequenceId' to be of type Number.")
    if "type" not in message or message["type"] is None:
        raise ProtocolError("Missing required property 'type'.")
    kind = message["type"]
    if not _is_int(kind, -2**31, 2**31):
        raise ProtocolError("Expected 'type' to be of type Number.")
    return kind if INVOCATION <= kind <= SEQUENCE else None


def _require(message: dict, name: str, *, non_empty: bool = False) -> None:
    if name not in message or (non_empty and message[name] == ""):
        raise ProtocolError(f"Missing required property '{name}'.")


HubMethod = Callable[..., object]


def _binds(method: HubMethod, arguments: list) -> bool:
    """Whether ``method`` takes these arguments (their count: JSON carries no .NET types)."""
    try:
        inspect.signature(method).bind(*arguments)
    except TypeError:
        return False
    except ValueError:  # a builtin without a signature: the call itself will tell
        pass
    return True


@dataclass(frozen=True)
class Actions:
    """What the transport does next: send ``send`` in order (each a framed message), then end
    the connection when ``close``. ``received`` are the hub messages the client sent (parsed,
    for the journal); ``reason`` says why the connection ends, for the journal too."""
    send: tuple[str, ...] = ()
    close: bool = False
    received: tuple[dict, ...] = ()
    reason: str | None = None

    def __add__(self, other: Actions) -> Actions:
        return Actions(self.send + other.send, self.close or other.close, self.received + other.received,
                       self.reason or other.reason)


NOTHING = Actions()


@dataclass
class _Output:
    send: list[str] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    close: bool = False
    reason: str | None = None

    def actions(self) -> Actions:
        return Actions(tuple(self.send), self.close, tuple(self.received), self.reason)


class HubConnection:
    """One hub connection's protocol state: handshake, then messages, then closed.

    Feed it what the client sent (:meth:`receive`), tell it what the server pushes
    (:meth:`event`, :meth:`close`) and call :meth:`poll` by :meth:`next_deadline` for the
    keep-alive and the timeouts. Each returns :class:`Actions`; ``now`` is any monotonic clock
    in seconds. ``methods`` are the hub's client-callable methods (name, matched ignoring case
    as ASP.NET does, to a callable taking the invocation's arguments); the mock's hubs have
    none, so every client invocation is answered "Method does not exist."
    """

    def __init__(self, now: float, *, methods: Mapping[str, HubMethod] | None = None,
                 keep_alive_interval: float = KEEP_ALIVE_INTERVAL, handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 client_timeout: float = CLIENT_TIMEOUT, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self.methods = {name.casefold(): method for name, method in (methods or {}).items()}
        self.keep_alive_interval = keep_alive_interval
        self.handshake_timeout = handshake_timeout
        self.client_timeout = client_timeout
        self.state = "handshake"  # then "open", then "closed"
        self.handshake: Handshake | None = None
        self._parser = FrameParser(max_message_size)
        self._started = now
        self._last_sent = now
        self._last_received = now
        self._client_pinged = False

    @property
    def open(self) -> bool:
        return self.state == "open"

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    # -- input

    def receive(self, data: str | bytes, now: float) -> Actions:
        """What to do about ``data`` from the client: a WebSocket frame, a POST body, in any
        cut (several messages, part of one)."""
        if self.closed:
            return NOTHING
        out = _Output()
        self._last_received = now
        try:
            payloads = self._parser.feed(data)
        except MessageTooLarge as too_large:
            if self.state == "handshake":
                self._fail_handshake(out, HANDSHAKE_CANCELED, str(too_large))
            else:
                self._fail(out, str(too_large))
            return self._finish(out, now)
        for payload in payloads:
            if self.state == "handshake":
                self._handle_handshake(out, payload)
            elif self.state == "open":
                self._handle_message(out, payload)
            if self.closed:
                break
        return self._finish(out, now)

    def _finish(self, out: _Output, now: float) -> Actions:
        if out.send:
            self._last_sent = now
        return out.actions()

    def _handle_handshake(self, out: _Output, payload: bytes) -> None:
        try:
            self.handshake = parse_handshake(payload)
        except HandshakeError as refused:
            self._fail_handshake(out, refused.error, str(refused))
            return
        out.send.append(handshake_response())
        self.state = "open"

    def _fail_handshake(self, out: _Output, error: str, reason: str) -> None:
        # ASP.NET answers the handshake with the error and ends the connection: no Close message.
        out.send.append(handshake_response(error))
        self._end(out, f"handshake refused: {reason}")

    def _fail(self, out: _Output, reason: str) -> None:
        # HubConnectionHandler: the exception's text stays on the server (not a HubException);
        # the connection had not been aborted, so AllowReconnect is still true.
        out.send.append(close_message(CONNECTION_CLOSED_WITH_AN_ERROR, allow_reconnect=True))
        self._end(out, reason)

    def _end(self, out: _Output, reason: str) -> None:
        out.close = True
        out.reason = reason
        self.state = "closed"

    def _handle_message(self, out: _Output, payload: bytes) -> None:
        try:
            message = _read_object(payload)
            kind = _check_fields(message)
            if kind is None:
                # ASP.NET's parser returns "no message" for a type it does not know, which stalls
                # its read loop on that message for good; the mock skips it, as the protocol's
                # comment intends ("old clients can ignore them").
                return
            out.received.append(message)
            self._dispatch(out, kind, message)
        except ProtocolError as refused:
            self._fail(out, str(refused))

    def _dispatch(self, out: _Output, kind: int, message: dict) -> None:
        invocation_id = message.get("invocationId")
        if kind in (INVOCATION, STREAM_INVOCATION):
            _require(message, "target")
            target = message["target"]
            method = self.methods.get(target.casefold())
            if "arguments" in message:
                # JsonHubProtocol binds the arguments while parsing: an unknown method is a
                # HubException, a wrong count an InvalidDataException (its text stays hidden).
                if method is None:
                    self._answer_error(out, invocation_id, f"Failed to invoke '{target}' due to an error on the "
                                                           f"server. HubException: {METHOD_DOES_NOT_EXIST}")
                    return
                if not _binds(method, message["arguments"]):
                    self._answer_error(out, invocation_id,
                                       f"Failed to invoke '{target}' due to an error on the server.")
                    return
            if kind == STREAM_INVOCATION:
                _require(message, "invocationId", non_empty=True)
            _require(message, "target", non_empty=True)
            _require(message, "arguments")
            assert method is not None  # with arguments present, a missing method was answered above
            if kind == STREAM_INVOCATION:  # the table holds no streaming methods
                out.send.append(completion(invocation_id, error=f"The client attempted to invoke the non-streaming "
                                                               f"'{target}' method with a streaming invocation."))
                return
            self._invoke(out, method, message)
        elif kind == STREAM_ITEM:
            _require(message, "invocationId")
            keys = list(message)
            if "item" in message and keys.index("item") < keys.index("invocationId"):
                # Read before its id, the item is bound afterwards, and the unknown stream's
                # KeyNotFoundException escapes the parser.
                raise ProtocolError(f"No stream with id '{invocation_id}' could be found.")
            _require(message, "invocationId", non_empty=True)
            _require(message, "item")
            # An item for a stream the server never opened: dropped.
        elif kind == COMPLETION:
            _require(message, "invocationId", non_empty=True)
            if "error" in message and "result" in message:
                raise ProtocolError("The 'error' and 'result' properties are mutually exclusive.")
            # A result for an invocation the server never made: dropped.
        elif kind == CANCEL_INVOCATION:
            _require(message, "invocationId", non_empty=True)
            # No stream runs, so nothing to cancel.
        elif kind == PING:
            self._client_pinged = True  # ASP.NET starts the client timeout on the first Ping
        elif kind == CLOSE:
            # The client leaves: Abort() clears AllowReconnect, and HubConnectionHandler still
            # writes its Close before the transport ends.
            out.send.append(close_message())
            self._end(out, "closed by the client" + (f": {message['error']}" if "error" in message else ""))
        else:  # Ack, Sequence: stateful reconnect, which the server does not offer
            if "sequenceId" not in message:
                raise ProtocolError("Missing required property 'sequenceId'.")

    def _invoke(self, out: _Output, method: HubMethod, message: dict) -> None:
        target, invocation_id, arguments = message["target"], message.get("invocationId"), message["arguments"]
        streams = message.get("streamIds") or []
        if streams:
            self._answer_error(out, invocation_id, f"An unexpected error occurred invoking '{target}' on the server. "
                                                   f"HubException: Client sent {len(streams)} stream(s), "
                                                   f"Hub method expects 0.")
            return
        unexpected = f"An unexpected error occurred invoking '{target}' on the server."
        try:
            result = method(*arguments)
            answer = completion(invocation_id, result=result) if invocation_id else None
        except HubError as refused:
            self._answer_error(out, invocation_id, f"{unexpected} HubException: {refused}")
            return
        except Exception:  # a hub method's own failure is the client's answer, not the server's crash
            self._answer_error(out, invocation_id, unexpected)
            return
        if answer is not None:
            out.send.append(answer)

    @staticmethod
    def _answer_error(out: _Output, invocation_id: str | None, error: str) -> None:
        if invocation_id:  # without an id (or with an empty one) the client expects no answer
            out.send.append(completion(invocation_id, error=error))

    # -- output the server initiates

    def event(self, target: str, *arguments: object, now: float) -> Actions:
        """Push an invocation to the client; nothing before the handshake completes (ASP.NET adds
        the connection to its hub only then) or once closed."""
        if not self.open:
            return NOTHING
        self._last_sent = now
        return Actions(send=(invocation(target, *arguments),))

    def push(self, message: str, now: float) -> Actions:
        """Send an event already framed by :func:`invocation` (one event to many connections is
        encoded once); nothing before the handshake completes or once closed, as :meth:`event`."""
        if not self.open:
            return NOTHING
        self._last_sent = now
        return Actions(send=(message,))

    def close(self, now: float, *, error: str | None = None, allow_reconnect: bool = False,
              reason: str | None = None) -> Actions:
        """End the connection from the server's side: a Close message (with ``error`` and
        ``allowReconnect`` as given) once the handshake is done, then the transport ends. Before
        the handshake there is no protocol to speak, so the transport just ends."""
        if self.closed:
            return NOTHING
        was_open = self.open
        out = _Output()
        if was_open:
            out.send.append(close_message(error, allow_reconnect))
        self._end(out, reason or ("closed by the server" + (f": {error}" if error else "")))
        return self._finish(out, now)

    def drop(self, reason: str = "dropped") -> Actions:
        """End the connection without a Close message, as a lost network would (the transport
        closes; clients that reconnect do)."""
        if self.closed:
            return NOTHING
        out = _Output()
        self._end(out, reason)
        return out.actions()

    # -- time

    def poll(self, now: float) -> Actions:
        """What time alone makes due: the handshake timeout, the client timeout, a Ping."""
        if self.closed:
            return NOTHING
        out = _Output()
        if self.state == "handshake":
            if now - self._started >= self.handshake_timeout:
                self._fail_handshake(out, HANDSHAKE_CANCELED, "handshake timed out")
        elif self._client_pinged and now - self._last_received >= self.client_timeout:
            # HubConnectionContext aborts keeping AllowReconnect; the handler's Close says so.
            out.send.append(close_message(allow_reconnect=True))
            self._end(out, "client timed out")
        elif now - self._last_sent >= self.keep_alive_interval:
            out.send.append(PING_MESSAGE)
        return self._finish(out, now)

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to do (``None`` once closed)."""
        if self.closed:
            return None
        if self.state == "handshake":
            return self._started + self.handshake_timeout
        deadline = self._last_sent + self.keep_alive_interval
        if self._client_pinged:
            deadline = min(deadline, self._last_received + self.client_timeout)
        return deadline


# --- Server-Sent Events and Long Polling ------------------------------------------------------

def sse_event(payload: str) -> str:
    """One payload as ServerSentEventsMessageFormatter writes it: ``data: <line>\\r\\n`` per line
    (split on ``\\n``, a line's trailing ``\\r`` dropped), then ``\\r\\n``. An empty payload is the
    ``\\r\\n`` alone."""
    if not payload:
        return "\r\n"
    lines = payload.split("\n")
    out = []
    for index, line in enumerate(lines):
        if index < len(lines) - 1 and len(line) > 1 and line.endswith("\r"):
            line = line[:-1]
        out.append(f"data: {line}\r\n")
    return "".join(out) + "\r\n"


def long_poll_body(messages: Iterable[str]) -> str:
    """A poll's answer: the framed messages waiting, one after another."""
    return "".join(messages)
