"""The Composer symphony language: parser, evaluator, indicators."""
