"""The running server's wiring: start, reload, stop, the HTTP listener, the spool."""
