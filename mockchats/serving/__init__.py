"""Serving an app over HTTP: granian for ``mockchats serve``, an in-thread server for tests.

Serving knows no service: it is given the app as a callable.
"""
