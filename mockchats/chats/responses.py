"""The responses layer: one function per operationId, from bound arguments to a model call.

Each handler receives the store, the calling user and the bound request, calls
the model once and returns the JSON body to send (or ``None`` for no content).
Status codes come from the spec; errors are the model's exceptions, which the
app turns into responses. Nothing here knows Flask.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import orjson

from ..aspnet.habits import dumps, format_datetime
from ..core.pipeline import Call
from .models import MessageView, ReactionView, Store, User

#: What a handler returns: the JSON body to send (already encoded, in part), or None for no content.
Body = dict | list | orjson.Fragment | None
Handler = Callable[[Store, User, Call], Body]
#: operationId -> handler; the app refuses to start unless this matches the spec exactly.
HANDLERS: dict[str, Handler] = {}


def operation(operation_id: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``operation_id``."""
    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler
    return register


def message_dto(view: MessageView) -> dict:
    """A message as MessageDto."""
    return {
        "chatId": view.chat_id,
        "message": view.text,
        "createdAt": format_datetime(view.created_at),
        "user": {"id": view.user_id, "name": view.user_name},
        "pinned": {"id": view.pin_id} if view.pin_id else None,
        "reactions": [
            {"name": name, "count": len(users), "users": [{"id": u} for u in users]}
            for name, users in view.reactions
        ],
    }


@lru_cache(maxsize=16384)  # views are hashed by identity: a changed message is a new view
def encoded_message(view: MessageView) -> orjson.Fragment:
    """A message as MessageDto, already written as JSON: a listing sends the same messages
    again and again, and writing them is most of its cost."""
    return orjson.Fragment(dumps(message_dto(view)))


def reaction_dto(view: ReactionView) -> dict:
    """A reaction as listReactions returns it."""
    return {"chatId": view.chat_id, "id": view.id, "reaction": view.name}


def _paging(query: dict) -> dict:
    """listChats' bound query as the model's paging arguments."""
    return {"skip": query["Skip"], "take": query["Take"], "sort_by": query["SortBy"],
            "ascending": query["Ascending"]}


def _message_page(total: int, page: list[MessageView]) -> Body:
    """A page as PagedMessagesDto."""
    return {"totalCount": total, "messages": [encoded_message(m) for m in page]}


@operation("listChats")
def list_chats(store: Store, caller: User, call: Call) -> Body:
    """GET /chats: one page and the session's total."""
    return _message_page(*store.list_messages(caller, **_paging(call.query)))


def list_session_chats(store: Store, session_id: str, query: dict) -> Body:
    """What GET /chats answers any member of ``session_id`` for the query listChats' binder bound
    (the control plane's listing of a session, so both follow one rule); NotFound for an
    unknown session."""
    return _message_page(*store.list_session_messages(session_id, **_paging(query)))


@operation("createChat")
def create_chat(store: Store, caller: User, call: Call) -> Body:
    """POST /chats: the new message's id, text and time."""
    view = store.create_message(caller, call.body["message"])
    return {"chatId": view.chat_id, "message": view.text, "createdAt": format_datetime(view.created_at)}


@operation("deleteChat")
def delete_chat(store: Store, caller: User, call: Call) -> Body:
    """DELETE /chats/{chatId}: no content."""
    store.delete_message(caller, call.path["chatId"])


@operation("addReaction")
def add_reaction(store: Store, caller: User, call: Call) -> Body:
    """POST /chats/{chatId}/reactions: the reaction's id."""
    view = store.add_reaction(caller, call.path["chatId"], call.body["reaction"])
    return {"reactionId": view.id}


@operation("listReactions")
def list_reactions(store: Store, caller: User, call: Call) -> Body:
    """GET /chats/reactions: the reactions of the given messages."""
    return [reaction_dto(r) for r in store.list_reactions(caller, call.query["chatIds"])]


@operation("deleteReaction")
def delete_reaction(store: Store, caller: User, call: Call) -> Body:
    """DELETE /chats/{chatId}/reactions/{reactionId}: no content."""
    store.delete_reaction(caller, call.path["chatId"], call.path["reactionId"])


@operation("deletePin")
def delete_pin(store: Store, caller: User, call: Call) -> Body:
    """DELETE /chats/{chatId}/pins/{pinId}: no content."""
    store.delete_pin(caller, call.path["chatId"], call.path["pinId"])
