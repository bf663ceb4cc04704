#!/usr/bin/env python3
"""Entry point: python tests/sandbox/server.py --port PORT --data-dir DIR [--stage-seconds S]

Prints "xpsandbox ready on http://HOST:PORT" on stdout once it serves, then
serves until killed.
"""

import os
import sys

HINT = (
    "xpsandbox: missing Python package {name!r} for the local AWS sandbox.\n"
    "Install the sandbox requirements: run `scripts/test`, or\n"
    "  python3 -m venv .venv && .venv/bin/pip install -r tests/sandbox/requirements.txt\n"
    "and point XPIPELINE_SANDBOX_PYTHON at that interpreter (the tests use .venv/bin/python when it exists).\n"
)

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    for mod in ("moto", "flask", "flask_cors", "werkzeug", "boto3"):
        try:
            __import__(mod)
        except ImportError:
            sys.stderr.write(HINT.format(name=mod if mod != "flask_cors" else "flask-cors"))
            sys.exit(3)
    from xpsandbox.server import main

    sys.exit(main())
