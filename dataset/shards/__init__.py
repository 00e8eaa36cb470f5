"""TFRecord training shards: the ``export`` stage and a writer that needs no TensorFlow."""
