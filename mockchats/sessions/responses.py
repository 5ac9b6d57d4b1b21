"""The Session API's responses layer: one function per operationId, from bound arguments to a
model call and back to the DTO. Nothing here knows HTTP; the pipeline answers the model's
exceptions and the spec gives the statuses."""
from __future__ import annotations

from collections.abc import Callable

from ..core.pipeline import Call
from .models import CHAIN, Caller, SessionStore

Handler = Callable[[SessionStore, object, Call], "dict | None"]
#: operationId -> handler; the app refuses to start unless this matches the document exactly.
HANDLERS: dict[str, Handler] = {}


def operation(operation_id: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``operation_id``."""
    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler
    return register


def _body(call: Call) -> dict:
    return call.body or {}


@operation("getNonce")
def get_nonce(store: SessionStore, caller: None, call: Call) -> dict:
    return store.issue_nonce().to_dto()


@operation("verifyWalletProof")
def verify_wallet_proof(store: SessionStore, caller: None, call: Call) -> dict:
    body = _body(call)
    proof = store.verify_proof(body.get("walletAddress"), body.get("message"), body.get("signature"),
                               call.query.get("chain") or CHAIN)
    return proof.to_dto()


@operation("createSession")
def create_session(store: SessionStore, wallet: str, call: Call) -> dict:
    return store.create_session(wallet, _body(call)).to_dto()


@operation("joinSession")
def join_session(store: SessionStore, wallet: str, call: Call) -> dict:
    body = _body(call)
    return store.join(wallet, body.get("sessionId"), body.get("password")).to_dto()


@operation("getCurrentSession")
def get_current_session(store: SessionStore, caller: Caller, call: Call) -> dict:
    return store.current(caller).to_dto()


@operation("kickUser")
def kick_user(store: SessionStore, caller: Caller, call: Call) -> None:
    store.kick(caller, _body(call).get("userId"))


@operation("disconnectSession")
def disconnect_session(store: SessionStore, caller: Caller, call: Call) -> None:
    store.disconnect(caller)


@operation("deleteCurrentSession")
def delete_current_session(store: SessionStore, caller: Caller, call: Call) -> None:
    store.delete(caller)
