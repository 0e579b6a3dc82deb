"""Domain model of the metrics service: entities and rules, no I/O."""
