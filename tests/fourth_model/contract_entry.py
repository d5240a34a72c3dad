"""mean_regressor: the mean of 8 values. Appended to contract/models.py."""

from contract.models import MODELS
from contract.spec import ModelContract, Signature, Tensor

MEAN_WIDTH = 8
MEAN_REGRESSOR = ModelContract(
    "mean_regressor",
    {
        "serving_default": Signature(
            inputs={"values": Tensor("float32", (None, MEAN_WIDTH))},
            outputs={"mean": Tensor("float32", (None,))},
        ),
    },
)
MODELS[MEAN_REGRESSOR.name] = MEAN_REGRESSOR
