"""augenmass: a self-hosted monitoring server with Nagios-grade semantics."""

__version__ = "0.1.0"
