"""Examples of the layers' ops (app/engine/layers.py), added to app/examples.py's lists."""

from __future__ import annotations

from typing import Any


def _uniform(shape: list[int], seed: int, bound: float) -> dict[str, Any]:
    return {"init": "uniform", "shape": shape, "seed": seed, "low": -bound, "high": bound}


def _digits(field: str, split: str) -> dict[str, Any]:
    return {"dataset": "digits", "field": field, "split": split}


CNN_PROGRAM = (
    "images = reshape(x, (-1, 1, 8, 8))\n"
    "maps = relu(conv2d(images, K, c, padding=1))\n"
    "pooled = max_pool2d(maps, 2)\n"
    "logits = linear(reshape(pooled, (-1, 160)), W, b)\n"
    "loss = softmax_cross_entropy(logits, labels)"
)

# A transformer block as nanoGPT writes it (model.py's CausalSelfAttention, MLP and Block, one block, tied
# embeddings), at tiny sizes: T = 4 characters of context, C = 8 channels, 2 heads of 4, an MLP of 32.
BLOCK_TEXT = "to be or not to be"
BLOCK_VOCAB = sorted(set(BLOCK_TEXT))  # ' ', 'b', 'e', 'n', 'o', 'r', 't'
BLOCK_T, BLOCK_C = 4, 8
_ids = [BLOCK_VOCAB.index(char) for char in BLOCK_TEXT]
# The windows of four characters starting at every second character (7 of them: 7 × 2 heads × 4 × 4 attention
# weights stay under the 256 elements a step sends in full, so the explanation draws them) and, at each
# position, the character that follows.
BLOCK_IDX = [_ids[start : start + BLOCK_T] for start in range(0, len(_ids) - BLOCK_T, 2)]
BLOCK_TARGETS = [_ids[start + 1 : start + BLOCK_T + 1] for start in range(0, len(_ids) - BLOCK_T, 2)]

BLOCK_PROGRAM = (
    "B, T = idx.shape\n"
    "C = wte.shape[1]\n"
    "nh = 2  # heads, each of C // nh = 4 channels\n"
    "x = F.embedding(idx, wte) + F.embedding(torch.arange(T), wpe)\n"
    "# causal self-attention: q, k, v of every head at once, then split into heads\n"
    "h = F.layer_norm(x, (C,), ln1_w, ln1_b)\n"
    "q, k, v = F.linear(h, W_attn, b_attn).split(C, dim=2)\n"
    "q = q.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)\n"
    "k = k.view(B, T, nh, C // nh).transpose(1, 2)\n"
    "v = v.view(B, T, nh, C // nh).transpose(1, 2)\n"
    "y = F.scaled_dot_product_attention(q, k, v, is_causal=True)\n"
    "y = y.transpose(1, 2).contiguous().view(B, T, C)  # the heads side by side again\n"
    "x = x + F.linear(y, W_proj, b_proj)  # residual\n"
    "# MLP: C -> 4C -> C with GELU, and the second residual\n"
    "h = F.layer_norm(x, (C,), ln2_w, ln2_b)\n"
    "x = x + F.linear(F.gelu(F.linear(h, W_fc, b_fc)), W_out, b_out)\n"
    "logits = F.linear(F.layer_norm(x, (C,), lnf_w, lnf_b), wte)  # tied to the embedding\n"
    "loss = F.cross_entropy(logits.view(B * T, -1), targets.view(-1))"
)


def _linear(name: str, fan_out: int, fan_in: int, seed: int) -> dict[str, Any]:
    """nn.Linear's weight (out, in) and bias, uniform in ±1/√fan_in as PyTorch initialises them."""
    bound = fan_in**-0.5
    return {f"W_{name}": _uniform([fan_out, fan_in], seed, bound), f"b_{name}": _uniform([fan_out], seed + 1, bound)}


def _layer_norm(name: str) -> dict[str, Any]:
    return {f"{name}_w": {"init": "ones", "shape": [BLOCK_C]}, f"{name}_b": {"init": "zeros", "shape": [BLOCK_C]}}


_C = BLOCK_C
BLOCK_PARAMS: dict[str, Any] = {
    "wte": {"init": "randn", "shape": [len(BLOCK_VOCAB), _C], "seed": 1},  # nn.Embedding: N(0, 1)
    "wpe": {"init": "randn", "shape": [BLOCK_T, _C], "seed": 2},
    **_layer_norm("ln1"),
    **_linear("attn", 3 * _C, _C, 3),
    **_linear("proj", _C, _C, 5),
    **_layer_norm("ln2"),
    **_linear("fc", 4 * _C, _C, 7),
    **_linear("out", _C, 4 * _C, 9),
    **_layer_norm("lnf"),
}

LAYER_EXAMPLES = [
    {
        "id": "small-convolution",
        "title": "One small convolution, gradient by gradient",
        "description": (
            "A 4×4 one-channel image met by one 2×2 kernel (conv2d, stride 1, no padding) gives a 3×3 map; the loss "
            "is its MSE to a target. In the backward pass each kernel weight's gradient is ∂L/∂out correlated with "
            "the input patch that weight met, each input element's adds ∂L/∂out times the kernel weights it was "
            "multiplied with, and the bias's sums ∂L/∂out: every entry is worked out with its numbers."
        ),
        "expression": "out = conv2d(x, K, b)\nloss = mse(out, t)",
        "inputs": {
            "x": [[[[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0]]]],
            "K": [[[[0.5, -0.25], [0.75, 0.25]]]],
            "b": [0.1],
            "t": {"value": [[[[1.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]]], "requires_grad": False},
        },
        "grad_output": None,
    },
    {
        "id": "causal-attention-head",
        "title": "One causal self-attention head",
        "description": (
            "Four tokens of width 8 project to queries, keys and values (width 4); each token attends to "
            "itself and the tokens before it (is_causal=True): scores q·kᵀ/√4, the future masked out, softmax, "
            "and the weights' mix of the values. Open the attention box to see those steps as primitives."
        ),
        "expression": (
            "q = x @ Wq\nk = x @ Wk\nv = x @ Wv\n"
            "att = scaled_dot_product_attention(q, k, v, is_causal=True)\nloss = mse(att, t)"
        ),
        "inputs": {
            "x": {"init": "randn", "shape": [4, 8], "seed": 11},
            "Wq": {"init": "randn", "shape": [8, 4], "seed": 12, "scale": 0.35},
            "Wk": {"init": "randn", "shape": [8, 4], "seed": 13, "scale": 0.35},
            "Wv": {"init": "randn", "shape": [8, 4], "seed": 14, "scale": 0.35},
            "t": {"init": "randn", "shape": [4, 4], "seed": 15},
        },
        "grad_output": None,
    },
    {
        "id": "hand-written-attention",
        "title": "Causal self-attention written by hand, 2 heads (nanoGPT style)",
        "description": (
            "nanoGPT's attention without flash attention, as Karpathy's videos write it: q, k, v split into 2 heads "
            "of 4, then the scores q @ kᵀ scaled by 1/√4, the future masked to -∞, softmax, and the weights' mix of "
            "v. The page recognises the pattern: each step names q, k, v, the scores, the mask and the weights, and "
            "every (B, heads, T, T) tensor draws as one small map per head."
        ),
        "expression": (
            "B, T, C = x.shape\n"
            "nh = 2  # heads, each of C // nh = 4 channels\n"
            "q, k, v = F.linear(x, W_attn, b_attn).split(C, dim=2)\n"
            "k = k.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)\n"
            "q = q.view(B, T, nh, C // nh).transpose(1, 2)\n"
            "v = v.view(B, T, nh, C // nh).transpose(1, 2)\n"
            "mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)  # nanoGPT's self.bias\n"
            "att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))\n"
            "att = att.masked_fill(mask[:, :, :T, :T] == 0, float('-inf'))\n"
            "att = F.softmax(att, dim=-1)\n"
            "y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)\n"
            "y = y.transpose(1, 2).contiguous().view(B, T, C)\n"
            "loss = F.mse_loss(y, target)"
        ),
        "inputs": {
            "x": {"init": "randn", "shape": [2, 4, 8], "seed": 21},
            **_linear("attn", 24, 8, 22),
            "target": {"init": "randn", "shape": [2, 4, 8], "seed": 24, "requires_grad": False},
        },
        "grad_output": None,
    },
]

LAYER_TRAIN_EXAMPLES = [
    {
        "id": "train-digits-cnn",
        "title": "Train a small CNN on the 8×8 digits",
        "description": (
            "Each 8×8 digit as a one-channel image: ten 3×3 kernels (padding 1) → ReLU → 2×2 max-pool → "
            "Linear(160, 10) → softmax cross-entropy; SGD with momentum and weight decay on batches of 32, "
            "evaluated on the 360 test digits (about 95 % after 3,000 steps, 67 epochs). Its weights start "
            "uniform in ±1/√fan_in, as PyTorch's Conv2d and Linear."
        ),
        "expression": CNN_PROGRAM,
        "inputs": {
            "x": _digits("images", "train"),
            "labels": _digits("labels", "train"),
            "K": _uniform([10, 1, 3, 3], 1, 9**-0.5),
            "c": _uniform([10], 2, 9**-0.5),
            "W": _uniform([160, 10], 3, 160**-0.5),
            "b": _uniform([10], 4, 160**-0.5),
        },
        "grad_output": None,
        "train": {
            "params": ["K", "c", "W", "b"],
            "optimizer": {"name": "sgd", "lr": 0.15, "momentum": 0.9, "weight_decay": 0.001},
            "steps": 3000,
            "batch": {"size": 32, "seed": 0},
            "record_every": 50,
            "eval": {"x": _digits("images", "test"), "labels": _digits("labels", "test")},
        },
    },
    {
        "id": "train-digits-batchnorm",
        "title": "Train an MLP with batch norm on the digits",
        "description": (
            "makemore's batch-normalised MLP on the 8×8 digits: Linear(64, 100) → batch_norm (the batch's "
            "mean and variance, then a learned scale and shift) → tanh → Linear(100, 10) → softmax "
            "cross-entropy; SGD with momentum on batches of 32. Open the batch_norm box to see the mean, "
            "the centred values, the variance and (var + eps)^-0.5 that its backward pass goes through. "
            "Evaluation normalises the 360 test digits by their own statistics (training=True throughout)."
        ),
        "expression": (
            "h = linear(x, W1, b1)\n"
            "hn = batch_norm(h, weight=gain, bias=shift, training=True)\n"
            "logits = linear(tanh(hn), W2, b2)\n"
            "loss = softmax_cross_entropy(logits, labels)"
        ),
        "inputs": {
            "x": _digits("images", "train"),
            "labels": _digits("labels", "train"),
            "W1": _uniform([64, 100], 5, 64**-0.5),
            "b1": _uniform([100], 6, 64**-0.5),
            "gain": {"init": "ones", "shape": [100]},
            "shift": {"init": "zeros", "shape": [100]},
            "W2": _uniform([100, 10], 7, 0.1),
            "b2": _uniform([10], 8, 0.1),
        },
        "grad_output": None,
        "train": {
            "params": ["W1", "b1", "gain", "shift", "W2", "b2"],
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
            "steps": 1000,
            "batch": {"size": 32, "seed": 0},
            "record_every": 20,
            "eval": {"x": _digits("images", "test"), "labels": _digits("labels", "test")},
        },
    },
    {
        "id": "train-transformer-block",
        "title": "A transformer block, trained on the next character",
        "description": (
            "One GPT block as nanoGPT writes it, at tiny sizes: each of seven four-character windows of "
            f"'{BLOCK_TEXT}' (idx, characters numbered {''.join(BLOCK_VOCAB)!r} → 0…6) is embedded (C = 8, plus a "
            "position embedding), then layer norm → causal self-attention with 2 heads (split into q, k, v, "
            "view/transpose into heads, scaled_dot_product_attention) → residual, layer norm → GELU MLP (8 → 32 → 8) "
            "→ residual, a last layer norm and logits through the tied embedding; cross-entropy against the next "
            "character. Open the attention box to see each head's scores, causal mask and softmax; train it with "
            "Adam (the loss from 4.5 to 0.17 in 300 steps, 25 of the 28 next characters right: the others are "
            "ambiguous with this context)."
        ),
        "expression": BLOCK_PROGRAM,
        "inputs": {"idx": BLOCK_IDX, "targets": BLOCK_TARGETS, **BLOCK_PARAMS},
        "grad_output": None,
        "train": {
            "params": list(BLOCK_PARAMS),
            "optimizer": {"name": "adam", "lr": 0.01},
            "steps": 300,
            "record_every": 10,
            # the same windows: how many of their next characters the block has learnt to predict
            "eval": {"idx": BLOCK_IDX, "targets": BLOCK_TARGETS},
        },
    },
]
