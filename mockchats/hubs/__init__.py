"""SignalR hubs: what ASP.NET Core's SignalR server does, without I/O.

The real service pushes its real-time events over SignalR hubs. This package holds the
protocol alone, as Flask keeps its ``sansio/``: text and the time in, the texts to send and
whether to close out, so the ASGI layer can drive it over WebSockets, Server-Sent Events and
Long Polling alike, and each rule can be tested without a socket. Standard library only.

- :mod:`.negotiate`: ``POST {hub}/negotiate`` (versions 0 and 1), connection ids and tokens,
  the transport URLs' error texts;
- :mod:`.protocol`: the JSON hub protocol: ``0x1E`` framing, the handshake, one connection's
  state machine (:class:`HubConnection`), the messages the server sends, SSE and long-polling
  framing.
"""
from .negotiate import (
    AVAILABLE_TRANSPORTS,
    CANNOT_CHANGE_TRANSPORT,
    CONNECTION_ID_REQUIRED,
    DELETE_NOT_ALLOWED,
    NO_CONNECTION_WITH_ID,
    POST_NOT_ALLOWED_FOR_WEBSOCKETS,
    NegotiateError,
    connection_ids,
    negotiate,
    negotiate_response,
    negotiate_version,
    new_connection_id,
    query_values,
)
from .protocol import (
    CLIENT_TIMEOUT,
    HANDSHAKE_TIMEOUT,
    KEEP_ALIVE_INTERVAL,
    LONG_POLL_CONTENT_TYPE,
    MAX_MESSAGE_SIZE,
    RECORD_SEPARATOR,
    SSE_CONTENT_TYPE,
    SSE_PREAMBLE,
    Actions,
    FrameParser,
    Handshake,
    HandshakeError,
    HubConnection,
    HubError,
    MessageTooLarge,
    ProtocolError,
    close_message,
    completion,
    dumps,
    handshake_response,
    invocation,
    long_poll_body,
    parse_handshake,
    ping,
    sse_event,
)

__all__ = [
    "AVAILABLE_TRANSPORTS", "CANNOT_CHANGE_TRANSPORT", "CLIENT_TIMEOUT", "CONNECTION_ID_REQUIRED",
    "DELETE_NOT_ALLOWED", "HANDSHAKE_TIMEOUT", "KEEP_ALIVE_INTERVAL", "LONG_POLL_CONTENT_TYPE",
    "MAX_MESSAGE_SIZE", "NO_CONNECTION_WITH_ID", "POST_NOT_ALLOWED_FOR_WEBSOCKETS", "RECORD_SEPARATOR",
    "SSE_CONTENT_TYPE", "SSE_PREAMBLE", "Actions", "FrameParser", "Handshake", "HandshakeError",
    "HubConnection", "HubError", "MessageTooLarge", "NegotiateError", "ProtocolError", "close_message",
    "completion", "connection_ids", "dumps", "handshake_response", "invocation", "long_poll_body",
    "negotiate", "negotiate_response", "negotiate_version", "new_connection_id", "parse_handshake", "ping",
    "query_values", "sse_event",
]
