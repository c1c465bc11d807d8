"""Models of the front end, built from their names and the dataset's shape (no downloads).

| name | kind | notes |
| --- | --- | --- |
| mlp | image | Flatten, Linear(in, 32), ReLU, Linear(32, classes): 64-32-10 on digits |
| cnn | image | two 3x3 conv + ReLU + 2x2 max-pool stages (8, 16 channels), then Linear |
| resnet18 | image | ResNet-18 for 32x32 inputs (3x3 stem, no stem pool), BasicBlocks 2-2-2-2 |
| bert, roberta, gpt2, opt | text / lm | transformers models from tiny configs (2 layers, hidden 64) |

Every ReLU is its own ``nn.ReLU`` module (never reused), so the quantization pass can give each a
format by name. Batch norm, pooling, residual adds and attention stay float.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from common.errors import ConfigError
from sw_frontend.data import DataBundle, WordTokenizer

IMAGE_MODELS = ("mlp", "cnn", "resnet8", "resnet18", "dscnn")
HF_MODELS = ("bert", "roberta", "gpt2", "opt")
MODELS = IMAGE_MODELS + HF_MODELS


def _flat(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class MLP(nn.Module):
    """Flatten -> fc1 -> relu -> fc2."""

    def __init__(self, in_features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(in_features, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(self.flatten(x))))


class SmallCNN(nn.Module):
    """conv1 (8 ch) -> relu1 -> pool -> conv2 (16 ch) -> relu2 -> pool -> fc."""

    def __init__(self, shape: tuple[int, ...], classes: int) -> None:
        super().__init__()
        c, h, w = shape
        self.conv1 = nn.Conv2d(c, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16 * (h // 4) * (w // 4), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.pool(self.relu2(self.conv2(x)))
        return self.fc(self.flatten(x))


class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm and a (projected when needed) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 images (CIFAR variant)."""

    def __init__(self, in_channels: int, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        layers, cin = [], 64
        for i, cout in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.pool(x)))


class ResNet8(nn.Module):
    """MLPerf Tiny's ResNet-8 for 32x32 images: a 3x3 stem of 16 channels, three residual stacks of
    one BasicBlock each (16, 32 and 64 channels; the last two halve the image, with a 1x1
    projection on the shortcut), global average pooling, a linear classifier."""

    def __init__(self, in_channels: int, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.stack1 = BasicBlock(16, 16, 1)
        self.stack2 = BasicBlock(16, 32, 2)
        self.stack3 = BasicBlock(32, 64, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.stack3(self.stack2(self.stack1(x)))
        return self.fc(self.flatten(self.pool(x)))


class DepthwiseSeparable(nn.Module):
    """A 3x3 depthwise convolution and a 1x1 pointwise one, each with batch norm and ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 3, 1, 1, groups=channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.pointwise = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.bn2(self.pointwise(self.relu1(self.bn1(self.depthwise(x))))))


class DSCNN(nn.Module):
    """MLPerf Tiny's DS-CNN for keyword spotting on 49 x 10 feature maps: a 10x4 stride-2 stem of 64
    channels with batch norm and ReLU, four depthwise-separable blocks, global average pooling, a
    linear classifier. The stem pads one pixel on every side (the original pads it 'same', unevenly;
    the window generator takes one padding for rows and columns): 49 x 10 -> 21 x 5."""

    def __init__(self, in_channels: int, classes: int, channels: int = 64, blocks: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, (10, 4), 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.blocks = nn.Sequential(*(DepthwiseSeparable(channels) for _ in range(blocks)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.blocks(self.relu(self.bn1(self.conv1(x)))))))


TINY = {"hidden": 64, "layers": 2, "heads": 2, "ffn": 128}


def hf_config(name: str, data: DataBundle):  # type: ignore[no-untyped-def]
    """A tiny transformers configuration for ``name`` sized for ``data``'s vocabulary."""
    import transformers as tr

    positions = max(64, data.input_shape[0] + 2)
    common = {
        "vocab_size": max(data.vocab_size, 8),
        "pad_token_id": data.pad_id,
        "bos_token_id": WordTokenizer.BOS,  # ids inside the small vocabulary (the defaults are not)
        "eos_token_id": WordTokenizer.BOS,
    }
    if data.task == "text":
        common["num_labels"] = data.num_classes
    if name in ("bert", "roberta"):
        cls = tr.BertConfig if name == "bert" else tr.RobertaConfig
        return cls(
            hidden_size=TINY["hidden"],
            num_hidden_layers=TINY["layers"],
            num_attention_heads=TINY["heads"],
            intermediate_size=TINY["ffn"],
            max_position_embeddings=positions + 2,
            is_decoder=data.task == "lm",
            **common,
        )
    if name == "gpt2":
        return tr.GPT2Config(
            n_embd=TINY["hidden"],
            n_layer=TINY["layers"],
            n_head=TINY["heads"],
            n_inner=TINY["ffn"],
            n_positions=positions,
            **common,
        )
    return tr.OPTConfig(
        hidden_size=TINY["hidden"],
        num_hidden_layers=TINY["layers"],
        num_attention_heads=TINY["heads"],
        ffn_dim=TINY["ffn"],
        word_embed_proj_dim=TINY["hidden"],
        max_position_embeddings=positions,
        **common,
    )


def _hf_class(name: str, task: str):  # type: ignore[no-untyped-def]
    import transformers as tr

    table = {
        ("bert", "text"): tr.BertForSequenceClassification,
        ("bert", "lm"): tr.BertLMHeadModel,
        ("roberta", "text"): tr.RobertaForSequenceClassification,
        ("roberta", "lm"): tr.RobertaForCausalLM,
        ("gpt2", "text"): tr.GPT2ForSequenceClassification,
        ("gpt2", "lm"): tr.GPT2LMHeadModel,
        ("opt", "text"): tr.OPTForSequenceClassification,
        ("opt", "lm"): tr.OPTForCausalLM,
    }
    return table[(name, task)]


def load_hf_pretrained(name: str, data: DataBundle, folder: str) -> nn.Module:
    """A transformers model from a local ``save_pretrained`` folder (never the hub)."""
    import transformers as tr

    path = Path(folder)
    if not (path / "config.json").is_file():
        raise ConfigError(f"--load {folder} with --load-type hf must be a save_pretrained folder holding config.json")
    try:
        config = tr.AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"--load {folder}: config.json cannot be read ({_first_line(exc)})") from None
    if config.model_type != name:
        raise ConfigError(f"--load {folder} holds a '{config.model_type}' model, not '{name}'")
    if config.vocab_size < data.vocab_size:
        raise ConfigError(
            f"--load {folder}: vocabulary {config.vocab_size} is smaller than the dataset's {data.vocab_size}"
        )
    if data.task == "text":
        config.num_labels = data.num_classes
    try:
        return _hf_class(name, data.task).from_pretrained(path, config=config, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - safetensors, torch and transformers raise many types for a bad file
        raise ConfigError(f"--load {folder}: the weights cannot be read ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def build_model(name: str, data: DataBundle) -> nn.Module:
    """A freshly initialised model ``name`` for ``data`` (seed torch first for repeatability)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model '{name}'; allowed: {', '.join(MODELS)}")
    if name in IMAGE_MODELS and data.task != "image":
        raise ConfigError(
            f"model '{name}' needs an image dataset (digits, cifar10, cifar100, kws, or their -random forms), "
            f"not '{data.name}'"
        )
    if name in HF_MODELS and data.task == "image":
        raise ConfigError(f"model '{name}' needs a text dataset (text, lm), not '{data.name}'")
    if name == "mlp":
        return MLP(_flat(data.input_shape), 32, data.num_classes)
    if name == "cnn":
        return SmallCNN(data.input_shape, data.num_classes)
    if name == "resnet8":
        return ResNet8(data.input_shape[0], data.num_classes)
    if name == "resnet18":
        return ResNet18(data.input_shape[0], data.num_classes)
    if name == "dscnn":
        return DSCNN(data.input_shape[0], data.num_classes)
    return _hf_class(name, data.task)(hf_config(name, data))
