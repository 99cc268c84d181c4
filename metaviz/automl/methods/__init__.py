"""AutoML methods: one :class:`~metaviz.automl.methods.base.SearchMethod` per module."""
