"""PyTorch CNN6 as described in Moummad & Farrugia (2023) / PANNs: the reference used by
scripts/golden_model.py and scripts/bench_model_torch.py (never needed by CI).

Architecture (official `_CNN6`): 4 blocks of conv 5x5 (stride 1, pad 2, no bias) -> BatchNorm2d ->
ReLU -> avg-pool 2x2; channels 64/128/256/512; mean over time (dim 3); max + mean over mel (dim 2);
optional dropout 0.2 after each block; linear 512 -> num_classes. Input [B, 1, mel=64, time].
Parameter names match the official state dict (`conv_block{k}.conv1.weight`, `conv_block{k}.bn1.*`,
`linear.*`).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block5x5(nn.Module):
    """conv 5x5 (no bias) -> BN -> ReLU -> avg-pool 2x2, Xavier-uniform conv, BN 1/0."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=5, stride=1, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        nn.init.xavier_uniform_(self.conv1.weight)
        nn.init.ones_(self.bn1.weight)
        nn.init.zeros_(self.bn1.bias)

    def forward(self, x):
        return F.avg_pool2d(F.relu(self.bn1(self.conv1(x))), kernel_size=2)


class Cnn6(nn.Module):
    """The official `_CNN6` layout (same module and parameter names)."""

    def __init__(self, num_classes: int = 4, do_dropout: bool = False):
        super().__init__()
        self.do_dropout = do_dropout
        self.conv_block1 = Block5x5(1, 64)
        self.conv_block2 = Block5x5(64, 128)
        self.conv_block3 = Block5x5(128, 256)
        self.conv_block4 = Block5x5(256, 512)
        self.dropout = nn.Dropout(0.2)
        self.linear = nn.Linear(512, num_classes, bias=True)

    def embed(self, x):
        for block in (self.conv_block1, self.conv_block2, self.conv_block3, self.conv_block4):
            x = block(x)
            if self.do_dropout:
                x = self.dropout(x)
        x = torch.mean(x, dim=3)
        return torch.max(x, dim=2)[0] + torch.mean(x, dim=2)

    def forward(self, x):
        return self.linear(self.embed(x))
