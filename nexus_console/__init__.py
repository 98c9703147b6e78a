import sys

__version__ = "0.1.0"

# httpx imports its command-line client (click, rich, pygments: ~190 ms of start-up) whenever those happen to
# be installed; the console never runs it. A None entry makes that optional import fail at once, exactly as
# on a machine without them (httpx then keeps a stub `main`).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
