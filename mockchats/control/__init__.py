"""The control plane under ``/_mock``: its views, their schemas and document, and its client.

Kept empty of imports: the pytest plugin loads :mod:`.client` into every partner's test run,
and the views pull in Flask and apispec.
"""
