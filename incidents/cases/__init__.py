"""The case aggregate: vocabulary, models, routing rules and service functions."""
