"""schemathesis hooks for the contract run (SCHEMATHESIS_HOOKS=hooks, tests/contract on
PYTHONPATH): a tus `PATCH` body (`application/offset+octet-stream`) is raw bytes, sent as
schemathesis sends `application/octet-stream`."""
import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
