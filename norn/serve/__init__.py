"""`norn serve`: the seed's HTTP API and WebSocket events over the same engine as the CLI.

auth.py the token; runs.py the run registry and its queue; bus.py events to WebSocket clients;
work.py what each endpoint does without HTTP; problems.py validate's lines as objects; app.py the
routes; models.py the bodies; server.py uvicorn with a draining shutdown. FastAPI and uvicorn are
imported only here (`norn[serve]`).
"""
