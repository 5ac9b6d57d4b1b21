"""The Session API (``openapi/sessions.yaml``): wallet proofs, then sessions to create and join.

- :mod:`.models`: nonces, sessions, their members and rules, API keys; no HTTP;
- :mod:`.wallet`: EIP-191 signatures recovered for real, and :class:`~.wallet.Wallet`, a
  throwaway key for partners' tests.

The tokens it answers are the mock's JWTs (:mod:`mockchats.core.tokens`); the changes it makes
are published on the mock's event bus (:mod:`mockchats.core.events`).
"""
