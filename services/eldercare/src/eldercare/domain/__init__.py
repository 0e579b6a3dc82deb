"""Domain model of the eldercare service: entities and rules, no I/O."""
