"""The Chats API (``openapi/chats.yaml``): messages in a session, reactions, pins.

- :mod:`.models`: the sessions, their users and messages, and every rule on them; no HTTP;
- :mod:`.auth`: who a bearer token is, in open and strict auth;
- :mod:`.responses`: one handler per operationId, translating a bound request into a model call;
- :mod:`.wordlists`: the words generated data is made of.
"""
