"""Values and pure helpers every layer uses: no I/O, no clock reads."""
