"""Domain model of the casework service: entities and rules, no I/O."""
