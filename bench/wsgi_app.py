"""The mockchats app as a module-level WSGI callable, for the WSGI server comparison.

``gunicorn bench.wsgi_app:app`` / ``granian --interface wsgi bench.wsgi_app:app``; waitress
serves the same object through ``mockchats.Server``. Default fixtures, seed 0, the access log
on stderr exactly as ``mockchats serve`` sets it up. One process holds the state: the servers
run one worker.
"""
import logging
import sys

import mockchats

logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
mock = mockchats.build()
app = mock.app

if __name__ == "__main__":  # waitress, as mockchats serve runs it
    server = mockchats.Server(app, port=int(sys.argv[1]))
    server.serve_forever()
