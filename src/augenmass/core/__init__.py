"""Values and pure helpers every layer uses: no clock reads, and no I/O but on the data
directory's own files (`private`, `datalock`, `datadir`), which the server, the store and the
commands share."""
