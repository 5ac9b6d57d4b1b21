"""``python -m mockchats`` is the ``mockchats`` command."""
from .cli import main

main()
