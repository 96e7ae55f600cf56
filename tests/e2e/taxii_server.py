# SPDX-License-Identifier: GPL-3.0-or-later
"""Run medallion, the OASIS TAXII 2.1 reference server, on a free loopback port (tests only).

Usage: ``python taxii_server.py DATA.json USER PASSWORD``. It serves the memory backend loaded from
``DATA.json`` on 127.0.0.1, prints the port on the first line of stdout once it listens, and runs
until it is terminated. Nothing in it reaches beyond this machine.
"""

from __future__ import annotations

import sys

from medallion import application_instance, register_blueprints, set_config
from werkzeug.serving import make_server


def main(data: str, user: str, password: str) -> None:
    """Serve the collections of ``data`` until terminated."""
    config = {"users": {user: password}, "taxii": {"max_page_size": 50},
              "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                          "filename": data}}
    for part in ("users", "taxii", "backend"):
        set_config(application_instance, part, config)
    register_blueprints(application_instance)
    server = make_server("127.0.0.1", 0, application_instance, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
