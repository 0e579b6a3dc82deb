"""Domain model of the employment service: entities and rules, no I/O."""
