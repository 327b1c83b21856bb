"""Data assimilation: the record's observation channels and the particle filter."""
