"""`python -m serving.gateway`: the gateway under gunicorn with the repo's config file."""

import os
import sys
from pathlib import Path

CONFIG = Path(__file__).with_name("gunicorn.conf.py")


def main() -> None:
    argv = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "serving.gateway.wsgi:app"]
    os.execv(argv[0], argv + sys.argv[1:])


if __name__ == "__main__":
    main()
