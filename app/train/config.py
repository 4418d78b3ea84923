"""The `train` part of a training request, validated by pydantic (types, ranges, unknown keys).

What pydantic cannot know (that a param is an input of the program, that the batch fits the
data) is checked by app.train.run when the run is prepared, before anything streams.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Strict: JSON's true and false are not numbers, nor strings numbers (a schema-violating body is
# refused, as the OpenAPI document says); ints are accepted for floats.
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Beta = Annotated[float, Field(ge=0, lt=1, strict=True)]
# Bounded above by what the start line can echo back (orjson writes 64-bit integers only); the
# server's own limits (steps, rows) are far below.
MAX_COUNT = 2**63 - 1
Count = Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)]
Seed = Annotated[int, Field(ge=0, le=2**64 - 1, strict=True)]
Flag = Annotated[bool, Field(strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SGDConfig(_Strict):
    name: Literal["sgd"]
    lr: PositiveFloat = Field(description="learning rate")
    momentum: NonNegativeFloat = 0.0
    dampening: NonNegativeFloat = 0.0
    weight_decay: NonNegativeFloat = Field(0.0, description="L2 penalty added to the gradient, as torch.optim.SGD")
    nesterov: Flag = False


class AdamConfig(_Strict):
    name: Literal["adam"]
    lr: PositiveFloat = 0.001
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    eps: PositiveFloat = 1e-8
    weight_decay: NonNegativeFloat = Field(0.0, description="L2 penalty added to the gradient, as torch.optim.Adam")


class BatchConfig(_Strict):
    size: Count = Field(description="rows per step, drawn alike from every dataset input")
    seed: Seed = 0


class TrainConfig(_Strict):
    """The `train` object of POST /train; every field is described in docs/api.md."""

    params: list[str] | None = Field(
        None, description="inputs to train; default: every input that takes a gradient and is not a dataset"
    )
    optimizer: Annotated[SGDConfig | AdamConfig, Field(discriminator="name")]
    steps: Count
    batch: BatchConfig | None = Field(
        None,
        description=(
            "rows drawn per step from the dataset inputs; needs at least one input that is a dataset (else 422 "
            "invalid_train); without it, every step sees all the data"
        ),
    )
    record_every: Count | None = Field(None, description="steps between records; default: steps / 100, at least 1")
    eval: dict[str, Any] | None = Field(
        None, description="inputs replaced for evaluation (e.g. the test split): loss, and accuracy for cross-entropy"
    )

    def records_every(self) -> int:
        return self.record_every or max(1, self.steps // 100)
