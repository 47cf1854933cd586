"""`events_api.asgi:app`, what uvicorn workers import.

Each worker also tunes its garbage collector once the app is built: what start-up made (modules,
routes, schemas) is frozen out of the collector's view, and young collections run less often.
Under load the collector took 7 % of a GET's CPU and 19 % of a POST's (docs/benchmarks.md).
"""

import gc

from events_api.main import create_app

app = create_app()

gc.collect()
gc.freeze()
gc.set_threshold(10_000, 20, 20)
