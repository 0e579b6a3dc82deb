"""Domain model of the registry service: entities and rules, no I/O."""
