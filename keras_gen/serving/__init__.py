"""Export keras-gen models as TF Serving SavedModels with stable signatures.

`export_model(model, base_dir, name)` writes `base_dir/<name>/<version>/`
(a SavedModel whose signatures are documented in `keras_gen.serving.export`)
and rewrites `base_dir/models.config` for the `tensorflow/serving`
container.
"""

from keras_gen.serving.export import export_model
from keras_gen.serving.export import model_versions
from keras_gen.serving.export import write_model_config
