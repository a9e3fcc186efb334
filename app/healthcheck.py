"""Docker healthcheck: exit 0 when the replica is ready (/healthz answers 200), else 1.

Standard library only, so a check costs one short-lived interpreter and no app imports.
"""

import os
import sys
import urllib.error
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('APP_PORT', '8000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except (urllib.error.URLError, OSError) as error:
    print(f"not ready: {error}")
    sys.exit(1)
