"""The SNMP family: the client, and the probes that ask devices over it."""
