"""Loss modules."""

from .. import functional as F
from .module import Module


class CrossEntropyLoss(Module):
    """-log softmax(input)[target], reduced by mean (default), sum or none."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.cross_entropy(input, target, reduction=self.reduction)


class MSELoss(Module):
    """(input - target)^2, reduced by mean (default), sum or none."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
