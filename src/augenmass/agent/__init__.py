"""`augenmass agent`: runs the checks the server assigns to it where the server cannot reach,
buffers the results locally and sends them to the server when it can (docs/agent.md)."""
