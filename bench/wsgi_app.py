"""The mockchats app as a module-level WSGI callable, for the serving-stack comparison.

``gunicorn bench.wsgi_app:app`` / ``granian --interface wsgi bench.wsgi_app:app``, for the
stacks ``mockchats serve`` does not ship. Default fixtures, seed 0, an access log on stderr.
One process holds the state: the servers run one worker.
"""
import logging
import sys

import mockchats

logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
mock = mockchats.build()
app = mock.app
