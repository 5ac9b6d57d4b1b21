"""What every service of the mock shares, and no service's own rules.

The world's parts (clock, faults, journal), the spec and its routes, the request pipeline,
responses, bearer-token identity, wording and data paths. Nothing here imports a service
(``chats``), the control plane, the contract tools, serving or the CLI: they build on this.
"""
