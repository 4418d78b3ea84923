"""Forward passes written as their tutorials write them, in PyTorch, numpy and micrograd.

The users' view of issue 19: each program is pasted into chainlens as a learner copies it from the
PyTorch autograd tutorial, micrograd, CS231n, d2l, makemore (parts 1-4) or nanoGPT, with only its
inputs supplied. tests/test_dialect_corpus.py runs each through POST /graph/backward and through
live PyTorch (float64), and compares every input's gradient at a relative 1e-10:

- a `torch` or `micrograd` program is run in PyTorch as THE SAME TEXT, in a test-only namespace
  holding `torch`, `F`, `nn`, `math` and torch tensors for the inputs (a micrograd `Value` and a 0-d
  tensor answer the same `+ - * / ** .tanh() .relu() .exp()`);
- a `numpy` program is run in PyTorch as the twin text beside it (`torch`), and also as its own text
  in numpy, whose forward value chainlens must give too.

Each case: id, dialect, source (the tutorial it is written after), program, inputs and, for numpy,
torch. Inputs are made by the helpers below: `tensor` (float64, differentiable), `data` (float64,
no gradient), `labels` (integer indices: float64 in chainlens, int64 in PyTorch and numpy) and
`integer` (a Python int: chainlens's integer input, a static value in shapes and ranges).
"""

from __future__ import annotations

import numpy as np


def _normal(shape: tuple[int, ...], seed: int, scale: float) -> float | list:
    values = np.random.default_rng(seed).standard_normal(shape) * scale
    return float(values) if values.ndim == 0 else values.tolist()


def tensor(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> dict:
    """A differentiable float64 input with seeded normal values."""
    return {"kind": "float", "value": _normal(shape, seed, scale), "grad": True}


def given(value: float | list) -> dict:
    """A differentiable float64 input with the tutorial's own numbers."""
    return {"kind": "float", "value": value, "grad": True}


def data(value: float | list | tuple[int, ...], seed: int = 0, scale: float = 1.0) -> dict:
    """A float64 input that takes no gradient (a target, a mask): given numbers, or seeded ones for a shape."""
    if isinstance(value, tuple):
        value = _normal(value, seed, scale)
    return {"kind": "float", "value": value, "grad": False}


def labels(value: list) -> dict:
    """Integer indices (C[Xb], logprobs[range(n), Yb], class targets)."""
    return {"kind": "index", "value": value}


def integer(value: int) -> dict:
    """A Python int (batch size, n_head): static where a shape or a range needs it."""
    return {"kind": "int", "value": value}


def case(id: str, dialect: str, source: str, program: str, inputs: dict, torch: str | None = None) -> dict:
    assert dialect in ("torch", "numpy", "micrograd")
    assert (torch is None) == (dialect != "numpy"), f"{id}: a numpy program needs its torch twin, others none"
    return {
        "id": id,
        "dialect": dialect,
        "source": source,
        "program": program.strip() + "\n",
        "inputs": inputs,
        "torch": None if torch is None else torch.strip() + "\n",
    }


# Shared data: a batch of 4 contexts of 3 characters over a vocabulary of 7 (repeated rows on purpose).
_XB = [[0, 3, 3], [1, 0, 6], [3, 3, 2], [5, 6, 0]]
_YB = [3, 0, 6, 2]

CASES: list[dict] = [
    # --- the PyTorch autograd tutorial and "Learning PyTorch with Examples" ---------------------------
    case(
        "autograd_tutorial_Q",
        "torch",
        "PyTorch autograd tutorial (a blitz)",
        "Q = 3*a**3 - b**2",
        {"a": given([2.0, 3.0]), "b": given([6.0, 4.0])},
    ),
    case(
        "autograd_basics_bce",
        "torch",
        "PyTorch basics: automatic differentiation with torch.autograd",
        """
z = torch.matmul(x, w)+b
p = torch.sigmoid(z)
loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
""",
        {
            "x": data([1.0, 1.0, 1.0, 1.0, 1.0]),
            "y": data([0.0, 0.0, 0.0]),
            "w": tensor((5, 3), 1),
            "b": tensor((3,), 2),
        },
    ),
    case(
        "examples_polynomial",
        "torch",
        "Learning PyTorch with Examples: tensors and autograd",
        """
y = torch.sin(x)
y_pred = a + b * x + c * x ** 2 + d * x ** 3
loss = (y_pred - y).pow(2).sum()
""",
        {
            "x": data(np.linspace(-np.pi, np.pi, 12).tolist()),
            "a": tensor((), 3),
            "b": tensor((), 4),
            "c": tensor((), 5),
            "d": tensor((), 6),
        },
    ),
    case(
        "examples_two_layer_mm_clamp",
        "torch",
        "Learning PyTorch with Examples: two-layer net with autograd",
        """
y_pred = x.mm(w1).clamp(min=0).mm(w2)
loss = (y_pred - y).pow(2).sum()
""",
        {"x": tensor((4, 5), 7), "y": data((4, 2), 8), "w1": tensor((5, 6), 9), "w2": tensor((6, 2), 10)},
    ),
    case(
        "examples_legendre",
        "torch",
        "Learning PyTorch with Examples: defining new autograd functions",
        """
y = torch.sin(x)
z = c + d * x
y_pred = a + b * (0.5 * (5 * z ** 3 - 3 * z))
loss = (y_pred - y).pow(2).sum()
""",
        {
            "x": data(np.linspace(-np.pi, np.pi, 10).tolist()),
            "a": given(0.0),
            "b": given(-1.0),
            "c": given(0.0),
            "d": given(0.3),
        },
    ),
    case(
        "examples_relu_mse_sum",
        "torch",
        "Learning PyTorch with Examples: nn with MSELoss(reduction='sum')",
        """
h = F.relu(x @ W1 + b1)
y_pred = h @ W2 + b2
loss = F.mse_loss(y_pred, y, reduction='sum')
""",
        {
            "x": tensor((5, 3), 11),
            "y": data((5, 2), 12),
            "W1": tensor((3, 4), 13),
            "b1": tensor((4,), 14),
            "W2": tensor((4, 2), 15),
            "b2": tensor((2,), 16),
        },
    ),
    case(
        "nn_tutorial_log_softmax_nll",
        "torch",
        "What is torch.nn really? (log_softmax and nll by hand)",
        """
preds = xb @ weights + bias
preds = preds - preds.exp().sum(-1).log().unsqueeze(-1)
loss = -preds[range(yb.shape[0]), yb].mean()
""",
        {
            "xb": data((4, 6), 17),
            "weights": tensor((6, 3), 18, 0.4),
            "bias": tensor((3,), 19),
            "yb": labels([2, 0, 1, 2]),
        },
    ),
    case(
        "nn_tutorial_accuracy",
        "torch",
        "What is torch.nn really? (accuracy beside the loss)",
        """
out = xb @ weights + bias
preds = torch.argmax(out, dim=1)
accuracy = (preds == yb).float().mean()
loss = F.cross_entropy(out, yb)
""",
        {
            "xb": data((4, 6), 20),
            "weights": tensor((6, 3), 21, 0.4),
            "bias": tensor((3,), 22),
            "yb": labels([1, 1, 0, 2]),
        },
    ),
    # --- micrograd (README and the lecture "The spelled-out intro to neural networks") -----------------
    case(
        "micrograd_readme",
        "micrograd",
        "micrograd README",
        """
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
""",
        {"a": given(-4.0), "b": given(2.0)},
    ),
    case(
        "micrograd_neuron_tanh",
        "micrograd",
        "micrograd lecture: a neuron",
        """
x1w1 = x1*w1
x2w2 = x2*w2
x1w1x2w2 = x1w1 + x2w2
n = x1w1x2w2 + b
o = n.tanh()
""",
        {"x1": given(2.0), "x2": given(0.0), "w1": given(-3.0), "w2": given(1.0), "b": given(6.8813735870195432)},
    ),
    case(
        "micrograd_neuron_exp",
        "micrograd",
        "micrograd lecture: tanh broken into exp",
        """
n = x1*w1 + x2*w2 + b
e = (2*n).exp()
o = (e - 1) / (e + 1)
""",
        {"x1": given(2.0), "x2": given(0.0), "w1": given(-3.0), "w2": given(1.0), "b": given(6.8813735870195432)},
    ),
    case(
        "micrograd_lecture_L",
        "micrograd",
        "micrograd lecture: the first expression graph",
        """
e = a*b
d = e + c
L = d * f
""",
        {"a": given(2.0), "b": given(-3.0), "c": given(10.0), "f": given(-2.0)},
    ),
    case(
        "micrograd_neuron_loop",
        "micrograd",
        "micrograd nn.Neuron, its sum written as a loop",
        """
act = b
for i in range(3):
    act = act + w[i] * x[i]
out = act.relu()
""",
        {"w": given([0.5, -0.25, 0.75]), "x": given([1.0, -2.0, 0.5]), "b": given(0.1)},
    ),
    case(
        "micrograd_svm_loss",
        "micrograd",
        "micrograd demo: max-margin loss with L2",
        """
scorei = (w1*x1 + w2*x2 + b).tanh()
data_loss = (1 + -yi*scorei).relu()
alpha = 1e-4
reg_loss = alpha * (w1*w1 + w2*w2)
total_loss = data_loss + reg_loss
""",
        {"w1": given(0.3), "w2": given(-0.7), "b": given(0.05), "x1": given(1.5), "x2": given(0.4), "yi": data(1.0)},
    ),
    case(
        "micrograd_division_power",
        "micrograd",
        "micrograd lecture: division as ** -1",
        """
c = a / b
d = c**2 + a.exp() - b.tanh()
e = d * b**-1 - (a - b)
""",
        {"a": given(0.7), "b": given(-1.3)},
    ),
    # --- CS231n (numpy) ----------------------------------------------------------------------------
    case(
        "cs231n_circuit_neuron",
        "numpy",
        "CS231n optimization-2: the 2-D neuron circuit",
        """
dot = w[0]*x[0] + w[1]*x[1] + w[2]
f = 1.0 / (1 + np.exp(-dot))
""",
        {"w": given([2.0, -3.0, -3.0]), "x": given([-1.0, -2.0])},
        torch="""
dot = w[0]*x[0] + w[1]*x[1] + w[2]
f = 1.0 / (1 + torch.exp(-dot))
""",
    ),
    case(
        "cs231n_staged_backprop",
        "numpy",
        "CS231n optimization-2: staged computation",
        """
sigy = 1.0 / (1 + np.exp(-y))
num = x + sigy
sigx = 1.0 / (1 + np.exp(-x))
xpy = x + y
xpysqr = xpy**2
den = sigx + xpysqr
invden = 1.0 / den
f = num * invden
""",
        {"x": given(3.0), "y": given(-4.0)},
        torch="""
sigy = 1.0 / (1 + torch.exp(-y))
num = x + sigy
sigx = 1.0 / (1 + torch.exp(-x))
xpy = x + y
xpysqr = xpy**2
den = sigx + xpysqr
invden = 1.0 / den
f = num * invden
""",
    ),
    case(
        "cs231n_two_layer_softmax",
        "numpy",
        "CS231n neural network case study: the 2-layer net",
        """
reg = 1e-3
hidden_layer = np.maximum(0, np.dot(X, W) + b)
scores = np.dot(hidden_layer, W2) + b2
exp_scores = np.exp(scores)
probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
correct_logprobs = -np.log(probs[range(num_examples), y])
data_loss = np.sum(correct_logprobs)/num_examples
reg_loss = 0.5*reg*np.sum(W*W) + 0.5*reg*np.sum(W2*W2)
loss = data_loss + reg_loss
""",
        {
            "X": data((5, 2), 30),
            "W": tensor((2, 6), 31, 0.5),
            "b": tensor((1, 6), 32, 0.1),
            "W2": tensor((6, 3), 33, 0.5),
            "b2": tensor((1, 3), 34, 0.1),
            "y": labels([0, 2, 1, 1, 0]),
            "num_examples": integer(5),
        },
        torch="""
reg = 1e-3
hidden_layer = torch.relu(torch.matmul(X, W) + b)
scores = torch.matmul(hidden_layer, W2) + b2
exp_scores = torch.exp(scores)
probs = exp_scores / torch.sum(exp_scores, dim=1, keepdim=True)
correct_logprobs = -torch.log(probs[torch.arange(num_examples), y])
data_loss = torch.sum(correct_logprobs)/num_examples
reg_loss = 0.5*reg*torch.sum(W*W) + 0.5*reg*torch.sum(W2*W2)
loss = data_loss + reg_loss
""",
    ),
    case(
        "cs231n_svm_vectorized",
        "numpy",
        "CS231n assignment 1: the vectorized multiclass SVM loss",
        """
num_train = X.shape[0]
scores = np.dot(X, W)
correct_class_scores = scores[np.arange(num_train), y]
margins = np.maximum(0, scores - correct_class_scores[:, np.newaxis] + 1.0)
loss = (np.sum(margins) - num_train) / num_train + reg * np.sum(W * W)
""",
        {"X": data((4, 5), 35), "W": tensor((5, 3), 36, 0.3), "y": labels([2, 0, 0, 1]), "reg": data(0.05)},
        torch="""
num_train = X.shape[0]
scores = torch.matmul(X, W)
correct_class_scores = scores[torch.arange(num_train), y]
margins = torch.clamp(scores - correct_class_scores[:, None] + 1.0, min=0)
loss = (torch.sum(margins) - num_train) / num_train + reg * torch.sum(W * W)
""",
    ),
    case(
        "cs231n_softmax_shifted",
        "numpy",
        "CS231n linear classify: the numerically stable softmax",
        """
scores = np.dot(X, W)
scores -= np.max(scores, axis=1, keepdims=True)
probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
loss = -np.sum(np.log(probs[np.arange(N), y])) / N
""",
        {"X": tensor((4, 5), 37), "W": tensor((5, 3), 38, 0.6), "y": labels([1, 2, 2, 0]), "N": integer(4)},
        torch="""
scores = torch.matmul(X, W)
scores -= torch.max(scores, dim=1, keepdim=True).values
probs = torch.exp(scores) / torch.sum(torch.exp(scores), dim=1, keepdim=True)
loss = -torch.sum(torch.log(probs[torch.arange(N), y])) / N
""",
    ),
    case(
        "cs231n_batchnorm_forward",
        "numpy",
        "CS231n assignment 2: batchnorm_forward (train)",
        """
eps = 1e-5
mu = np.mean(x, axis=0)
var = np.var(x, axis=0)
x_hat = (x - mu) / np.sqrt(var + eps)
out = gamma * x_hat + beta
loss = np.sum(out * dout)
""",
        {"x": tensor((5, 3), 39), "gamma": tensor((3,), 40), "beta": tensor((3,), 41), "dout": data((5, 3), 42)},
        torch="""
eps = 1e-5
mu = torch.mean(x, dim=0)
var = torch.var(x, dim=0, correction=0)
x_hat = (x - mu) / torch.sqrt(var + eps)
out = gamma * x_hat + beta
loss = torch.sum(out * dout)
""",
    ),
    case(
        "cs231n_layernorm_forward",
        "numpy",
        "CS231n assignment 2: layernorm_forward",
        """
eps = 1e-5
mu = x.mean(axis=1, keepdims=True)
var = np.var(x, axis=1, keepdims=True)
xhat = (x - mu) / np.sqrt(var + eps)
out = gamma * xhat + beta
loss = np.sum(out * dout)
""",
        {"x": tensor((3, 4), 43), "gamma": tensor((4,), 44), "beta": tensor((4,), 45), "dout": data((3, 4), 46)},
        torch="""
eps = 1e-5
mu = x.mean(dim=1, keepdim=True)
var = torch.var(x, dim=1, keepdim=True, correction=0)
xhat = (x - mu) / torch.sqrt(var + eps)
out = gamma * xhat + beta
loss = torch.sum(out * dout)
""",
    ),
    case(
        "cs231n_affine_relu",
        "numpy",
        "CS231n assignment 2: affine_forward then relu_forward",
        """
out = np.dot(x.reshape(x.shape[0], -1), w) + b
a = np.maximum(0, out)
""",
        {"x": tensor((2, 2, 3), 47), "w": tensor((6, 4), 48), "b": tensor((4,), 49)},
        torch="""
out = torch.matmul(x.reshape(x.shape[0], -1), w) + b
a = F.relu(out)
""",
    ),
    case(
        "numpy_leaky_relu_where",
        "numpy",
        "CS231n neural networks 1: leaky ReLU with np.where",
        """
out = np.where(x > 0, x, 0.01 * x)
loss = np.sum(out ** 2)
""",
        {"x": tensor((3, 4), 50)},
        torch="""
out = torch.where(x > 0, x, 0.01 * x)
loss = torch.sum(out ** 2)
""",
    ),
    case(
        "numpy_clip_tanh",
        "numpy",
        "gradient clipping as np.clip",
        """
y = np.tanh(np.clip(x, -0.5, 0.5))
loss = np.mean(y * x)
""",
        {"x": tensor((3, 4), 51)},
        torch="""
y = torch.tanh(torch.clamp(x, -0.5, 0.5))
loss = torch.mean(y * x)
""",
    ),
    case(
        "numpy_concatenate_split",
        "numpy",
        "numpy: concatenate, then split into equal sections",
        """
h = np.concatenate([a, b], axis=0)
p, q, r = np.split(h, 3, axis=0)
out = np.sum(p * q - r)
""",
        {"a": tensor((2, 3), 52), "b": tensor((4, 3), 53)},
        torch="""
h = torch.cat([a, b], dim=0)
p, q, r = torch.chunk(h, 3, dim=0)
out = torch.sum(p * q - r)
""",
    ),
    case(
        "numpy_stack_mean",
        "numpy",
        "numpy: stack, then average the stack",
        """
s = np.stack([a, b, c])
m = np.mean(s, axis=0)
loss = np.sum(m ** 2 * s[1])
""",
        {"a": tensor((2, 3), 54), "b": tensor((2, 3), 55), "c": tensor((2, 3), 56)},
        torch="""
s = torch.stack([a, b, c])
m = torch.mean(s, dim=0)
loss = torch.sum(m ** 2 * s[1])
""",
    ),
    case(
        "numpy_std_ddof",
        "numpy",
        "numpy: standardize with the sample std (ddof=1)",
        """
z = (x - np.mean(x, axis=0)) / np.std(x, axis=0, ddof=1)
loss = np.sum(z * w) + np.std(x)
""",
        {"x": tensor((5, 3), 57), "w": tensor((3,), 58)},
        torch="""
z = (x - torch.mean(x, dim=0)) / torch.std(x, dim=0, correction=1)
loss = torch.sum(z * w) + torch.std(x, correction=0)
""",
    ),
    case(
        "numpy_max_argmax",
        "numpy",
        "numpy: the max and where it is",
        """
m = np.max(x, axis=1)
k = np.argmax(x, axis=1)
picked = x[np.arange(x.shape[0]), k]
loss = np.sum(m * picked) + np.min(x)
""",
        {"x": tensor((4, 5), 59)},
        torch="""
m = torch.amax(x, dim=1)
k = torch.argmax(x, dim=1)
picked = x[torch.arange(x.shape[0]), k]
loss = torch.sum(m * picked) + torch.min(x)
""",
    ),
    case(
        "numpy_logsumexp",
        "numpy",
        "numpy (spelled numpy.): log-sum-exp shifted by the max",
        """
m = numpy.max(x, axis=1, keepdims=True)
lse = m + numpy.log(numpy.sum(numpy.exp(x - m), axis=1, keepdims=True))
loss = numpy.mean(lse)
""",
        {"x": tensor((3, 4), 60, 2.0)},
        torch="""
m = torch.amax(x, dim=1, keepdim=True)
lse = m + torch.log(torch.sum(torch.exp(x - m), dim=1, keepdim=True))
loss = torch.mean(lse)
""",
    ),
    case(
        "numpy_constant_makers",
        "numpy",
        "numpy: tril of ones, eye, zeros_like, arange",
        """
n = x.shape[0]
mask = np.tril(np.ones((n, n)))
out = np.matmul(mask - np.eye(n), x) + np.zeros_like(x) + np.arange(n)[:, None]
loss = np.sum(np.abs(out)) + np.sum(np.triu(np.dot(x, x.T), 1))
""",
        {"x": tensor((4, 3), 61)},
        torch="""
n = x.shape[0]
mask = torch.tril(torch.ones((n, n)))
out = torch.matmul(mask - torch.eye(n), x) + torch.zeros_like(x) + torch.arange(n)[:, None]
loss = torch.sum(torch.abs(out)) + torch.sum(torch.triu(torch.matmul(x, x.T), 1))
""",
    ),
    case(
        "min_char_rnn",
        "numpy",
        "min-char-rnn.py (Karpathy): the forward pass of lossFun as a loop",
        """
h = hprev
loss = 0
for t in range(len(targets)):
    h = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, h) + bh)
    y = np.dot(Why, h) + by
    p = np.exp(y) / np.sum(np.exp(y))
    loss += -np.log(p[targets[t], 0])
""",
        {
            "xs": data(np.eye(4)[[0, 2, 1]][:, :, None].tolist()),
            "targets": labels([2, 1, 3]),
            "hprev": data((5, 1), 62, 0.1),
            "Wxh": tensor((5, 4), 63, 0.3),
            "Whh": tensor((5, 5), 64, 0.3),
            "Why": tensor((4, 5), 65, 0.3),
            "bh": tensor((5, 1), 66, 0.1),
            "by": tensor((4, 1), 67, 0.1),
        },
        torch="""
h = hprev
loss = 0
for t in range(len(targets)):
    h = torch.tanh(torch.matmul(Wxh, xs[t]) + torch.matmul(Whh, h) + bh)
    y = torch.matmul(Why, h) + by
    p = torch.exp(y) / torch.sum(torch.exp(y))
    loss += -torch.log(p[targets[t], 0])
""",
    ),
    case(
        "numpy_transpose_sqrt",
        "numpy",
        "numpy: np.transpose, .T and a smooth abs",
        """
out = np.dot(np.transpose(A), B).T
loss = np.sum(np.sqrt(out ** 2 + 1)) + np.sum(np.abs(A))
""",
        {"A": tensor((3, 2), 68), "B": tensor((3, 4), 69)},
        torch="""
out = torch.matmul(torch.transpose(A, 0, 1), B).T
loss = torch.sum(torch.sqrt(out ** 2 + 1)) + torch.sum(torch.abs(A))
""",
    ),
    # --- d2l (Dive into Deep Learning, PyTorch) ------------------------------------------------------
    case(
        "d2l_linreg",
        "torch",
        "d2l 3.4: linear regression from scratch (linreg, squared_loss)",
        """
y_hat = torch.matmul(X, w) + b
l = (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
loss = l.sum()
""",
        {"X": data((5, 2), 70), "y": data((5,), 71), "w": tensor((2, 1), 72, 0.01), "b": given([0.0])},
    ),
    case(
        "d2l_softmax_scratch",
        "torch",
        "d2l 4.4: softmax regression from scratch",
        """
X_exp = torch.exp(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)
partition = X_exp.sum(1, keepdim=True)
y_hat = X_exp / partition
loss = -torch.log(y_hat[list(range(len(y_hat))), y]).mean()
""",
        {"X": data((4, 2, 3), 73), "W": tensor((6, 3), 74, 0.3), "b": tensor((3,), 75, 0.1), "y": labels([0, 2, 2, 1])},
    ),
    case(
        "d2l_mlp_scratch",
        "torch",
        "d2l 5.2: MLP from scratch (relu as torch.max with zeros_like)",
        """
X = X.reshape((-1, num_inputs))
Z = X @ W1 + b1
H = torch.max(Z, torch.zeros_like(Z))
out = H @ W2 + b2
loss = F.cross_entropy(out, y, reduction='none').mean()
""",
        {
            "X": data((3, 2, 2), 76),
            "W1": tensor((4, 5), 77, 0.5),
            "b1": tensor((5,), 78, 0.1),
            "W2": tensor((5, 3), 79, 0.5),
            "b2": tensor((3,), 80, 0.1),
            "y": labels([1, 0, 2]),
            "num_inputs": integer(4),
        },
    ),
    case(
        "d2l_batchnorm",
        "torch",
        "d2l 8.5: batch normalization from scratch (fully connected)",
        """
eps = 1e-5
mean = X.mean(dim=0)
var = ((X - mean) ** 2).mean(dim=0)
X_hat = (X - mean) / torch.sqrt(var + eps)
Y = gamma * X_hat + beta
loss = (Y * dY).sum()
""",
        {"X": tensor((4, 3), 81), "gamma": tensor((3,), 82), "beta": tensor((3,), 83), "dY": data((4, 3), 84)},
    ),
    case(
        "d2l_rnn_loop",
        "torch",
        "d2l 9.5: RNN from scratch, the time loop",
        """
num_steps, batch_size, _ = X.shape
H = torch.zeros((batch_size, W_hh.shape[0]))
for t in range(num_steps):
    H = torch.tanh(torch.matmul(X[t], W_xh) + torch.matmul(H, W_hh) + b_h)
Y = torch.matmul(H, W_hq) + b_q
loss = F.cross_entropy(Y, y)
""",
        {
            "X": data((3, 2, 4), 85),
            "W_xh": tensor((4, 5), 86, 0.4),
            "W_hh": tensor((5, 5), 87, 0.4),
            "b_h": tensor((5,), 88, 0.1),
            "W_hq": tensor((5, 4), 89, 0.4),
            "b_q": tensor((4,), 90, 0.1),
            "y": labels([3, 1]),
        },
    ),
    case(
        "d2l_dot_product_attention",
        "torch",
        "d2l 11.3: scaled dot-product attention",
        """
d = queries.shape[-1]
scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
attention_weights = nn.functional.softmax(scores, dim=-1)
out = torch.bmm(attention_weights, values)
loss = (out * out).sum()
""",
        {"queries": tensor((2, 1, 2), 91), "keys": tensor((2, 3, 2), 92), "values": tensor((2, 3, 4), 93)},
    ),
    case(
        "d2l_cat_axis",
        "torch",
        "d2l 2.1: torch.cat of a tuple, sums with axis= and keepdims=",
        """
Z = torch.cat((X, Y), dim=0)
W = torch.cat((X, Y), dim=1)
loss = (Z.sum(dim=0) * W.sum(axis=1, keepdims=True)).sum()
""",
        {"X": tensor((2, 3), 94), "Y": tensor((2, 3), 95)},
    ),
    # --- makemore, parts 1-4 -------------------------------------------------------------------------
    case(
        "makemore1_bigram_nn",
        "torch",
        "makemore part 1: the bigram network with one_hot",
        """
num = xs.nelement()
xenc = F.one_hot(xs, num_classes=5).float()
logits = xenc @ W
counts = logits.exp()
probs = counts / counts.sum(1, keepdims=True)
loss = -probs[torch.arange(num), ys].log().mean() + 0.01*(W**2).mean()
""",
        {"xs": labels([0, 1, 4, 4, 2]), "ys": labels([1, 4, 4, 2, 0]), "W": tensor((5, 5), 100)},
    ),
    case(
        "makemore2_mlp",
        "torch",
        "makemore part 2: the MLP with F.cross_entropy",
        """
emb = C[X]
h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
logits = h @ W2 + b2
loss = F.cross_entropy(logits, Y)
""",
        {
            "C": tensor((7, 2), 101),
            "X": labels(_XB),
            "Y": labels(_YB),
            "W1": tensor((6, 5), 102, 0.5),
            "b1": tensor((5,), 103, 0.1),
            "W2": tensor((5, 7), 104, 0.5),
            "b2": tensor((7,), 105, 0.1),
        },
    ),
    case(
        "makemore2_cat_columns",
        "torch",
        "makemore part 2: the context's embeddings concatenated column by column",
        """
emb = C[X]
embcat = torch.cat([emb[:, 0, :], emb[:, 1, :], emb[:, 2, :]], 1)
h = torch.tanh(embcat @ W1 + b1)
loss = (h * h).sum()
""",
        {"C": tensor((7, 2), 129), "X": labels(_XB), "W1": tensor((6, 5), 102, 0.5), "b1": tensor((5,), 103, 0.1)},
    ),
    case(
        "makemore2_manual_loss",
        "torch",
        "makemore part 2: the loss by hand before F.cross_entropy",
        """
emb = C[X]
h = torch.tanh(emb.view(emb.shape[0], 6) @ W1 + b1)
logits = h @ W2 + b2
counts = logits.exp()
prob = counts / counts.sum(1, keepdims=True)
loss = -prob[torch.arange(4), Y].log().mean()
""",
        {
            "C": tensor((7, 2), 106),
            "X": labels(_XB),
            "Y": labels(_YB),
            "W1": tensor((6, 5), 107, 0.5),
            "b1": tensor((5,), 108, 0.1),
            "W2": tensor((5, 7), 109, 0.5),
            "b2": tensor((7,), 110, 0.1),
        },
    ),
    case(
        "makemore3_kaiming",
        "torch",
        "makemore part 3: Kaiming-scaled weights from integer hyperparameters",
        """
embcat = C[Xb].view(Xb.shape[0], -1)
hpreact = embcat @ (W1 * (5/3) / (n_embd * block_size)**0.5)
h = torch.tanh(hpreact)
logits = h @ (W2 * 0.01) + b2 * 0
loss = F.cross_entropy(logits, Yb)
""",
        {
            "C": tensor((7, 2), 111),
            "Xb": labels(_XB),
            "Yb": labels(_YB),
            "W1": tensor((6, 5), 112),
            "W2": tensor((5, 7), 113),
            "b2": tensor((7,), 114),
            "n_embd": integer(2),
            "block_size": integer(3),
        },
    ),
    case(
        "makemore3_batchnorm",
        "torch",
        "makemore part 3: batch normalization in the MLP",
        """
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hpreact = embcat @ W1 + b1
bnmeani = hpreact.mean(0, keepdim=True)
bnstdi = hpreact.std(0, keepdim=True)
hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
loss = F.cross_entropy(logits, Yb)
""",
        {
            "C": tensor((7, 2), 115),
            "Xb": labels(_XB),
            "Yb": labels(_YB),
            "W1": tensor((6, 5), 116, 0.5),
            "b1": tensor((5,), 117, 0.1),
            "bngain": tensor((1, 5), 118, 0.1),
            "bnbias": tensor((1, 5), 119, 0.1),
            "W2": tensor((5, 7), 120, 0.5),
            "b2": tensor((7,), 121, 0.1),
        },
    ),
    case(
        "makemore4_backprop_ninja",
        "torch",
        "makemore part 4: the forward pass chunked for backprop by hand",
        """
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hprebn = embcat @ W1 + b1
bnmeani = 1/n*hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5)**-0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()
""",
        {
            "C": tensor((7, 2), 122),
            "Xb": labels(_XB),
            "Yb": labels(_YB),
            "W1": tensor((6, 5), 123, 0.5),
            "b1": tensor((5,), 124, 0.1),
            "bngain": tensor((1, 5), 125, 0.1),
            "bnbias": tensor((1, 5), 126, 0.1),
            "W2": tensor((5, 7), 127, 0.5),
            "b2": tensor((7,), 128, 0.1),
            "n": integer(4),
        },
    ),
    # --- nanoGPT and "Let's build GPT" ------------------------------------------------------------------
    case(
        "gpt_bigram_model",
        "torch",
        "Let's build GPT: the bigram language model's forward",
        """
logits = token_embedding_table[idx]
B, T, C = logits.shape
logits = logits.view(B*T, C)
targets = targets.view(B*T)
loss = F.cross_entropy(logits, targets)
""",
        {
            "token_embedding_table": tensor((6, 6), 130),
            "idx": labels([[0, 5, 2], [2, 2, 1]]),
            "targets": labels([[5, 2, 2], [2, 1, 1]]),
        },
    ),
    case(
        "gpt_weighted_average_trick",
        "torch",
        "Let's build GPT: the mathematical trick in self-attention",
        """
B, T, C = x.shape
wei = torch.tril(torch.ones(T, T))
wei = wei / wei.sum(1, keepdim=True)
xbow2 = wei @ x
tril = torch.tril(torch.ones(T, T))
wei = torch.zeros((T, T))
wei = wei.masked_fill(tril == 0, float('-inf'))
wei = F.softmax(wei, dim=-1)
xbow3 = wei @ x
loss = (xbow2 * xbow3).sum()
""",
        {"x": tensor((2, 4, 3), 131)},
    ),
    case(
        "gpt_head",
        "torch",
        "Let's build GPT: one head of self-attention",
        """
B, T, C = x.shape
k = x @ Wk
q = x @ Wq
wei = q @ k.transpose(-2, -1) * C**-0.5
tril = torch.tril(torch.ones(T, T))
wei = wei.masked_fill(tril[:T, :T] == 0, float('-inf'))
wei = F.softmax(wei, dim=-1)
v = x @ Wv
out = wei @ v
loss = (out ** 2).mean()
""",
        {"x": tensor((2, 4, 3), 132), "Wk": tensor((3, 2), 133), "Wq": tensor((3, 2), 134), "Wv": tensor((3, 2), 135)},
    ),
    case(
        "nanogpt_causal_self_attention",
        "torch",
        "nanoGPT model.py: CausalSelfAttention.forward",
        """
B, T, C = x.size()
q, k, v = F.linear(x, W_attn, b_attn).split(C, dim=2)
k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
bias = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
att = att.masked_fill(bias[:, :, :T, :T] == 0, float('-inf'))
att = F.softmax(att, dim=-1)
y = att @ v
y = y.transpose(1, 2).contiguous().view(B, T, C)
y = F.linear(y, W_proj, b_proj)
loss = (y * dy).sum()
""",
        {
            "x": tensor((2, 3, 4), 136),
            "W_attn": tensor((12, 4), 137, 0.5),
            "b_attn": tensor((12,), 138, 0.1),
            "W_proj": tensor((4, 4), 139, 0.5),
            "b_proj": tensor((4,), 140, 0.1),
            "dy": data((2, 3, 4), 141),
            "n_head": integer(2),
        },
    ),
    case(
        "nanogpt_mlp_new_gelu",
        "torch",
        "nanoGPT model.py (2022): MLP with new_gelu",
        """
h = F.linear(x, W_fc, b_fc)
h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
y = F.linear(h, W_proj, b_proj)
loss = (y * dy).sum()
""",
        {
            "x": tensor((2, 3), 142),
            "W_fc": tensor((6, 3), 143, 0.5),
            "b_fc": tensor((6,), 144, 0.1),
            "W_proj": tensor((3, 6), 145, 0.5),
            "b_proj": tensor((3,), 146, 0.1),
            "dy": data((2, 3), 147),
        },
    ),
    case(
        "nanogpt_layernorm_by_hand",
        "torch",
        "nanoGPT LayerNorm written out (unbiased=False)",
        """
mean = x.mean(-1, keepdim=True)
var = x.var(-1, keepdim=True, unbiased=False)
y = (x - mean) / torch.sqrt(var + 1e-5) * weight + bias
""",
        {"x": tensor((2, 3, 4), 148), "weight": tensor((4,), 149), "bias": tensor((4,), 150)},
    ),
    case(
        "nanogpt_embeddings_tied_head",
        "torch",
        "nanoGPT GPT.forward: token and position embeddings, tied head",
        """
b, t = idx.size()
pos = torch.arange(0, t, dtype=torch.long)
tok_emb = wte[idx]
pos_emb = wpe[pos]
x = tok_emb + pos_emb
logits = F.linear(x, wte)
loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
""",
        {
            "wte": tensor((6, 4), 151, 0.5),
            "wpe": tensor((3, 4), 152, 0.5),
            "idx": labels([[1, 4, 4], [0, 5, 1]]),
            "targets": labels([[4, 4, 2], [5, 1, -1]]),
        },
    ),
    case(
        "nanogpt_generate_step",
        "torch",
        "nanoGPT GPT.generate: the last position's distribution",
        """
temperature = 0.8
logits = logits[:, -1, :] / temperature
probs = F.softmax(logits, dim=-1)
idx_next = torch.argmax(probs, dim=-1, keepdim=True)
loss = probs.max(dim=-1).values.log().sum()
""",
        {"logits": tensor((2, 3, 5), 153)},
    ),
    # --- PyTorch features one at a time --------------------------------------------------------------
    case(
        "torch_where_leaky_relu",
        "torch",
        "torch.where with a comparison mask",
        """
out = torch.where(x > 0, x, 0.01 * x)
loss = (out ** 2).mean()
""",
        {"x": tensor((3, 4), 160)},
    ),
    case(
        "torch_chunk_stack",
        "torch",
        "Tensor.chunk and torch.stack",
        """
a, b, c = x.chunk(3, -1)
s = torch.stack([a, b, c], dim=0)
loss = (s.sum(0) * a).sum() + s.mean()
""",
        {"x": tensor((2, 6), 161)},
    ),
    case(
        "torch_split_sizes",
        "torch",
        "Tensor.split by size (last smaller) and by a list of sizes",
        """
u, v, w = x.split(2)
p, q = x.split([1, 3], dim=1)
loss = (p * q).sum() + (u * v).sum() + w.sum() * 3
""",
        {"x": tensor((5, 4), 162)},
    ),
    case(
        "torch_shapes_squeeze_flatten",
        "torch",
        "unsqueeze, squeeze, flatten and the shape queries",
        """
y = x.unsqueeze(0).squeeze(0)
z = torch.flatten(y, 1)
w = y.flatten()
loss = z.sum() * w.mean() + len(x) + x.ndim + x.numel() + x.size(-1) * z.mean()
""",
        {"x": tensor((2, 3, 2), 163)},
    ),
    case(
        "torch_permute_t_mT",
        "torch",
        "permute, .mT and .t()",
        """
y = x.permute(2, 0, 1)
z = y.mT
w = A.t() @ B
loss = (z.sum(0) * w).sum()
""",
        {"x": tensor((2, 3, 4), 164), "A": tensor((2, 3), 165), "B": tensor((2, 2), 166)},
    ),
    case(
        "torch_clamp_logsumexp",
        "torch",
        "torch.clamp with both bounds, Tensor.clamp(max=), torch.logsumexp",
        """
c = torch.clamp(x, min=-0.5, max=0.5)
lse = torch.logsumexp(x, dim=1)
loss = (c.sum(1) * lse).sum() + x.clamp(max=0.3).sum()
""",
        {"x": tensor((3, 4), 167)},
    ),
    case(
        "torch_var_std_correction",
        "torch",
        "var and std: correction=0, the default correction=1, keepdim",
        """
v0 = torch.var(x, dim=0, correction=0)
v1 = x.var(1)
s = torch.std(x, dim=0, keepdim=True)
loss = (v0 * w).sum() + v1.sum() + (s * x).sum() + x.std()
""",
        {"x": tensor((4, 3), 168), "w": tensor((3,), 169)},
    ),
    case(
        "torch_max_values_indices",
        "torch",
        "torch.max(x, 1) unpacked, [0], .values, and elementwise torch.max",
        """
values, indices = torch.max(x, 1)
m = x.max(dim=0)[0]
mn = x.min(1, keepdim=True).values
picked = x[torch.arange(x.shape[0]), indices]
loss = (values * picked).sum() + m.sum() + (mn * x).sum() + torch.max(x, y).sum()
""",
        {"x": tensor((3, 4), 170), "y": tensor((3, 4), 171)},
    ),
    case(
        "torch_max_ties",
        "torch",
        "ties: x.max(1) sends the gradient to its index; amax and the full max share it",
        """
values, indices = x.max(1)
shared = torch.amax(x, dim=1)
whole = torch.max(x)
loss = (values * w).sum() + (shared * w).sum() + whole
""",
        {"x": given([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), "w": given([0.5, -1.5])},
    ),
    case(
        "torch_indexing_basic",
        "torch",
        "basic indexing: an int, slices, ..., None, a step, an empty slice",
        """
a = x[0]
b = x[:, 1:3]
c = x[..., -1]
d = x[:, None]
e = x[1:, ::2]
f = x[:, 2:2]
loss = (a * a).sum() + (b ** 2).sum() + c.mean() + d.sum() * 0.5 + e.exp().sum() + f.sum()
""",
        {"x": tensor((3, 4), 172)},
    ),
    case(
        "torch_index_repeated_negative",
        "torch",
        "gather by an index tensor with repeated and negative rows",
        """
rows = C[idx]
loss = (rows ** 2).sum() + C[-1].sum() * rows[:, 0].sum()
""",
        {"C": tensor((5, 3), 173), "idx": labels([[0, -1, 2], [2, 2, -5]])},
    ),
    case(
        "torch_one_hot_mse",
        "torch",
        "F.one_hot(...).float() as a target for F.mse_loss",
        """
target = F.one_hot(y, 4).float()
loss = F.mse_loss(torch.softmax(logits, dim=1), target)
""",
        {"logits": tensor((3, 4), 174), "y": labels([3, 0, 3])},
    ),
    case(
        "torch_F_linear_vs_bare_linear",
        "torch",
        "F.linear (W is (out, in)) beside the bare linear (W is (in, out))",
        """
a = F.linear(x, W, b)
c = linear(x, W, b)
loss = (a * c).sum()
""",
        {"x": tensor((2, 3), 175), "W": tensor((3, 3), 176), "b": tensor((3,), 177)},
    ),
    case(
        "torch_log_softmax_nll",
        "torch",
        "F.log_softmax, Tensor.log_softmax and the picked log-probabilities",
        """
logp = F.log_softmax(logits, dim=1)
lq = logits.log_softmax(-1)
loss = -logp[range(len(y)), y].mean() - lq[:, 0].sum()
""",
        {"logits": tensor((3, 4), 178), "y": labels([1, 3, 3])},
    ),
    case(
        "torch_full_eye_ones_like_triu",
        "torch",
        "torch.eye, torch.full, torch.ones_like and torch.triu",
        """
n = x.size(0)
I = torch.eye(n)
J = torch.full((n, n), 0.5)
K = torch.ones_like(x)
loss = ((I + J) @ x * K).sum() + torch.triu(x @ x.T, diagonal=1).sum()
""",
        {"x": tensor((3, 4), 179)},
    ),
    case(
        "torch_augassign_detach",
        "torch",
        "+= is a new node; .detach() stops the gradient",
        """
h = x * w
h += b
h = h * h.detach()
target = torch.zeros_like(h)
loss = F.mse_loss(h, target)
""",
        {"x": tensor((2, 3), 180), "w": tensor((2, 3), 181), "b": tensor((3,), 182)},
    ),
    case(
        "torch_dot_mm_size",
        "torch",
        "Tensor.dot on vectors, Tensor.mm, Tensor.size(-1)",
        """
d = u.dot(v)
M = A.mm(B)
loss = d * M.sum() / A.size(-1)
""",
        {"u": tensor((4,), 183), "v": tensor((4,), 184), "A": tensor((2, 3), 185), "B": tensor((3, 2), 186)},
    ),
    case(
        "torch_casts_and_masks",
        "torch",
        ".double(), .contiguous(), .long(), a float mask and masked_fill",
        """
y = x.double().contiguous()
mask = (y > 0).float()
z = y.masked_fill(m > 0.5, 0.0)
loss = F.cross_entropy(y * mask + z, labels.long())
""",
        {
            "x": tensor((3, 4), 187),
            "m": data([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]),
            "labels": labels([0, 1, 3]),
        },
    ),
    case(
        "torch_nn_functional_spelled_out",
        "torch",
        "torch.nn.functional and nn.functional spelled out",
        """
h = torch.nn.functional.relu(x @ W)
p = nn.functional.log_softmax(h, dim=-1)
s = torch.nn.functional.sigmoid(h) * F.tanh(h)
loss = -p.mean() + s.sum()
""",
        {"x": tensor((3, 4), 188), "W": tensor((4, 5), 189)},
    ),
    case(
        "torch_math_constants",
        "torch",
        "math.sqrt, math.log, math.e, math.inf on numbers",
        """
scale = 1.0 / math.sqrt(x.shape[-1])
y = torch.exp(x * scale - math.log(2))
loss = y.clamp(min=-math.inf, max=math.e).sum()
""",
        {"x": tensor((3, 4), 190, 2.0)},
    ),
    case(
        "torch_spellings_more",
        "torch",
        "more spellings: positional dim, amax, concat, swapaxes, full_like, clip, dim()",
        """
s = F.softmax(x, 1)
m = x.amax(dim=1, keepdim=True)
z = torch.swapaxes(torch.concat([x, y], 0), 0, 1)
f = torch.full_like(x, 0.5) * x.clip(-1, 1)
loss = (s * m).sum() + z.pow(2).mean() + f.sum() * x.dim() + F.cross_entropy(x, t, label_smoothing=0.1)
""",
        {"x": tensor((3, 4), 192), "y": tensor((2, 4), 193), "t": labels([0, 3, 1])},
    ),
    case(
        "numpy_spellings_more",
        "numpy",
        "more numpy spellings: expand_dims, swapaxes, power, full, amax, multiply, divide",
        """
e = np.expand_dims(x, 0)
p = np.power(np.swapaxes(e, 1, 2), 2)
f = np.full((2, 3), 0.25) * np.amax(x, axis=0, keepdims=True)
loss = np.sum(p) + np.sum(f) + np.sum(np.multiply(x, np.divide(x, 2.0))) + np.sum(np.negative(x))
""",
        {"x": tensor((2, 3), 194)},
        torch="""
e = torch.unsqueeze(x, 0)
p = torch.pow(torch.swapaxes(e, 1, 2), 2)
f = torch.full((2, 3), 0.25) * torch.amax(x, dim=0, keepdim=True)
loss = torch.sum(p) + torch.sum(f) + torch.sum(torch.multiply(x, torch.divide(x, 2.0))) + torch.sum(torch.negative(x))
""",
    ),
    case(
        "torch_gather_nll",
        "torch",
        "the negative log-likelihood by Tensor.gather and torch.gather",
        """
logprobs = F.log_softmax(logits, dim=1)
nll = -logprobs.gather(1, y.unsqueeze(1)).mean()
picked = torch.gather(logits, 0, rows)
loss = nll + picked.sum()
""",
        {"logits": tensor((4, 3), 195), "y": labels([2, 0, 0, 1]), "rows": labels([[3, 0, 3], [1, 1, 2]])},
    ),
    case(
        "numpy_take_along_axis",
        "numpy",
        "numpy: np.take_along_axis picks each row's class",
        """
picked = np.take_along_axis(probs, y[:, None], axis=1)
loss = -np.mean(np.log(picked))
""",
        {"probs": given([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.25, 0.25, 0.5]]), "y": labels([1, 0, 2])},
        torch="""
picked = torch.gather(probs, 1, y[:, None])
loss = -torch.mean(torch.log(picked))
""",
    ),
    case(
        "torch_elementwise_methods",
        "torch",
        "elementwise methods and their torch. spellings",
        """
y = x.sigmoid() * x.abs().sqrt() + x.relu() - torch.abs(x).log() + x.sin() * torch.cos(x)
loss = y.sum() + x.exp().mean() + x.pow(2).sum() + torch.sqrt(x * x).sum()
""",
        {"x": tensor((2, 3), 191)},
    ),
    # --- the layers of issue 20, as torch.nn.functional spells them --------------------------------
    case(
        "layers_transformer_block",
        "torch",
        "nanoGPT's Block: F.layer_norm, multi-head causal attention, a GELU MLP, residuals",
        """
B, T, C = x.shape
h = F.layer_norm(x, (C,), ln1_w, ln1_b)
q, k, v = (h @ W_attn).split(C, dim=2)
q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float('-inf'))
y = F.softmax(att, dim=-1) @ v
y = y.transpose(1, 2).contiguous().view(B, T, C)
x = x + y @ W_proj
m = F.layer_norm(x, (C,), ln2_w, ln2_b, eps=1e-5)
x = x + F.gelu(m @ W_fc) @ W_out
loss = (x ** 2).mean()
""",
        {
            "x": tensor((2, 3, 4), 301),
            "ln1_w": tensor((4,), 302),
            "ln1_b": tensor((4,), 303),
            "W_attn": tensor((4, 12), 304, 0.5),
            "W_proj": tensor((4, 4), 305, 0.5),
            "ln2_w": tensor((4,), 306),
            "ln2_b": tensor((4,), 307),
            "W_fc": tensor((4, 8), 308, 0.5),
            "W_out": tensor((8, 4), 309, 0.5),
            "n_head": integer(2),
        },
    ),
    case(
        "layers_cnn",
        "torch",
        "CS231n's small CNN: F.conv2d, F.relu, F.max_pool2d, flatten, F.linear, F.cross_entropy",
        """
h = F.relu(F.conv2d(img, kernels, bias, padding=1))
h = F.max_pool2d(h, 2)
h = F.avg_pool2d(h, kernel_size=2, stride=1)
logits = F.linear(torch.flatten(h, 1), W, b)
loss = F.cross_entropy(logits, y)
""",
        {
            "img": tensor((2, 1, 6, 6), 311),
            "kernels": tensor((3, 1, 3, 3), 312, 0.5),
            "bias": tensor((3,), 313),
            "W": tensor((4, 12), 314, 0.5),
            "b": tensor((4,), 315),
            "y": labels([1, 3]),
        },
    ),
    case(
        "layers_gelu_mlp",
        "torch",
        "an MLP with GELU (both forms), SiLU and the other activations of F",
        """
h = F.gelu(x @ W1 + b1)
g = F.gelu(h, approximate='tanh') + F.silu(h) + F.softplus(h, beta=2.0) + F.leaky_relu(h, 0.1)
g = g + F.elu(h) + F.hardtanh(h, -0.5, 0.5) + torch.erf(h) + h.erf()
loss = F.mse_loss(g @ W2, target)
""",
        {
            "x": tensor((4, 3), 321),
            "W1": tensor((3, 5), 322),
            "b1": tensor((5,), 323),
            "W2": tensor((5, 2), 324),
            "target": data((4, 2), 325),
        },
    ),
    case(
        "layers_batch_norm_training",
        "torch",
        "makemore's MLP with F.batch_norm in training mode",
        """
emb = C[Xb]
hpre = emb.view(emb.shape[0], -1) @ W1
hpreact = F.batch_norm(hpre, None, None, bngain, bnbias, training=True)
h = torch.tanh(hpreact)
logits = h @ W2 + b2
loss = F.cross_entropy(logits, Yb)
""",
        {
            "C": tensor((7, 2), 331),
            "Xb": labels(_XB),
            "W1": tensor((6, 5), 332),
            "bngain": tensor((5,), 333),
            "bnbias": tensor((5,), 334),
            "W2": tensor((5, 7), 335),
            "b2": tensor((7,), 336),
            "Yb": labels(_YB),
        },
    ),
    case(
        "layers_sdpa_causal",
        "torch",
        "one causal head by F.scaled_dot_product_attention(is_causal=True)",
        """
B, T, C = x.shape
q = (x @ Wq).view(B, T, 2, C // 2).transpose(1, 2)
k = (x @ Wk).view(B, T, 2, C // 2).transpose(1, 2)
v = (x @ Wv).view(B, T, 2, C // 2).transpose(1, 2)
y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
out = y.transpose(1, 2).reshape(B, T, C).sum()
""",
        {"x": tensor((2, 4, 4), 341), "Wq": tensor((4, 4), 342), "Wk": tensor((4, 4), 343), "Wv": tensor((4, 4), 344)},
    ),
    case(
        "layers_sdpa_masks",
        "torch",
        "attention masks: a boolean one made by a comparison, a float one added",
        """
T = q.shape[-2]
keep = torch.tril(torch.ones(T, T)) > 0
a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
c = F.scaled_dot_product_attention(q, k, v, bias, scale=0.3)
out = (a * c).sum()
""",
        {
            "q": tensor((2, 3, 4), 345),
            "k": tensor((2, 3, 4), 346),
            "v": tensor((2, 3, 4), 347),
            "bias": tensor((3, 3), 348),
        },
    ),
    case(
        "layers_losses",
        "torch",
        "the losses of torch.nn.functional with their reductions",
        """
p = torch.sigmoid(z)
l = F.binary_cross_entropy(p, t) + F.binary_cross_entropy_with_logits(z, t, pos_weight=pw)
l = l + F.l1_loss(z, t, reduction='sum') + F.smooth_l1_loss(z, t, beta=0.5) + F.huber_loss(z, t, delta=0.7)
l = l + F.kl_div(F.log_softmax(z, dim=1), F.softmax(t, dim=1), reduction='batchmean')
l = l + F.nll_loss(F.log_softmax(z, dim=1), y, ignore_index=1)
loss = l + F.cross_entropy(z, F.softmax(t, dim=1)) + F.cosine_similarity(z, t).sum()
""",
        {
            "z": tensor((4, 3), 351),
            "t": data([[0.1, 0.9, 0.5], [1.0, 0.0, 0.3], [0.25, 0.75, 0.6], [0.8, 0.2, 0.4]]),
            "pw": data([1.0, 2.0, 0.5]),
            "y": labels([0, 1, 2, 2]),
        },
    ),
    case(
        "layers_norms_conv1d",
        "torch",
        "F.group_norm, F.normalize, F.conv1d, F.embedding, F.dropout off",
        """
g = F.group_norm(x, 2, gw, gb)
n = F.normalize(g.flatten(2), dim=-1)
c = F.conv1d(n, w, stride=2, padding=1, dilation=1)
e = F.embedding(idx, table)
loss = F.dropout(c, p=0.0).sum() * 0.5 + F.dropout(e, 0.3, training=False).pow(2).sum()
""",
        {
            "x": tensor((2, 4, 2, 3), 361),
            "gw": tensor((4,), 362),
            "gb": tensor((4,), 363),
            "w": tensor((3, 4, 3), 364),
            "idx": labels([[0, 2], [2, 1]]),
            "table": tensor((3, 4), 365),
        },
    ),
]

# Attention as code often writes it: einsum for the scores and the mix, the causal mask cast with
# .bool() and inverted with ~, logical ops on masks.
CASES += [
    case(
        "attention_einsum_bool_mask",
        "torch",
        "nanoGPT-style masked attention with torch.einsum, .bool() and ~",
        """
B, T, C = x.shape
q = x @ Wq
k = x @ Wk
v = x @ Wv
att = torch.einsum('bid,bjd->bij', q, k) * (1.0 / math.sqrt(k.size(-1)))
mask = torch.tril(torch.ones(T, T)).bool()
att = att.masked_fill(~mask, float('-inf'))
att = F.softmax(att, dim=-1)
y = torch.einsum('bij,bjd->bid', att, v)
keep = torch.logical_or(mask.logical_not(), torch.eye(T).bool()).float()
loss = (y * dy).sum() + (att * keep).sum()
""",
        {
            "x": tensor((2, 4, 3), 371),
            "Wq": tensor((3, 3), 372),
            "Wk": tensor((3, 3), 373),
            "Wv": tensor((3, 3), 374),
            "dy": data((2, 4, 3), 375),
        },
    ),
    case(
        "numpy_einsum_bilinear",
        "numpy",
        "np.einsum: a bilinear form, a trace and an implicit output",
        """
s = np.einsum('bi,ij,bj->b', x, A, x)
t = np.einsum('ii', A)
o = np.einsum('bi,bj', x, x)
f = np.sum(s * t) + np.sum(o * o)
""",
        {"x": tensor((3, 2), 376), "A": tensor((2, 2), 377)},
        torch="""
s = torch.einsum('bi,ij,bj->b', x, A, x)
t = torch.einsum('ii', A)
o = torch.einsum('bi,bj', x, x)
f = torch.sum(s * t) + torch.sum(o * o)
""",
    ),
]
