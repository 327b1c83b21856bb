"""What users drive: the CLI, the scenario builder, the EMA adapter, reproduce, the explorer."""
