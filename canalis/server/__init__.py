"""`canalis serve`: the REST API of published pipelines and the scheduler, on one HTTP server
(FastAPI on uvicorn). Importing this package loads nothing heavy: the SDK reads the server's
address through `canalis.server.address`."""
