"""The layers' examples (app/examples_layers.py): the CNN and the batch-norm MLP learn the digits, and their
first 20 training steps are PyTorch's (torch.optim.SGD on the same batches) to 1e-9; the attention head opens into
its primitives."""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from app.core import evaluate  # installs the dataset hook, too
from app.datasets import resolve
from app.engine.inputs import decode
from app.engine.limits import Limits
from app.examples import EXAMPLES
from app.train import TrainConfig, TrainingRun, TrainLimits

CNN = next(example for example in EXAMPLES if example["id"] == "train-digits-cnn")


def _run(steps: int, record: bool = False) -> TrainingRun:
    example = copy.deepcopy(CNN)
    train = example["train"] | {"steps": steps}
    return TrainingRun(example["expression"], example["inputs"], TrainConfig(**train), Limits(), TrainLimits())


def test_the_cnn_reaches_95_percent_on_the_test_digits() -> None:
    steps = CNN["train"]["steps"]
    run = _run(steps)
    losses, final = [], None
    started = time.process_time()
    for _, loss, _, _, _, after in run.steps(steps):
        losses.append(loss)
        final = after
    seconds = time.process_time() - started
    assert np.mean(losses[-100:]) < 0.2 * np.mean(losses[:100]), "the loss falls"
    evaluation = run._evaluate(final)
    assert evaluation["accuracy"] >= 0.95, evaluation
    assert seconds < 60, f"{steps} steps took {seconds:.1f} s of CPU"


def test_twenty_steps_equal_torch_optim() -> None:
    steps = 20
    run = _run(steps)
    names = CNN["train"]["params"]
    params = {
        name: torch.tensor(decode(name, CNN["inputs"][name], 10**8).value, dtype=torch.float64, requires_grad=True)
        for name in names
    }
    data = {name: resolve(name, CNN["inputs"][name], 10**8).take() for name in ("x", "labels")}
    options = CNN["train"]["optimizer"]
    optimizer = torch.optim.SGD(
        [params[name] for name in names],
        lr=options["lr"],
        momentum=options["momentum"],
        weight_decay=options["weight_decay"],
    )
    ours = None
    for step, (_, loss, _, positions, _, after) in enumerate(run.steps(steps), 1):
        rows = np.asarray(positions)
        x = torch.tensor(data["x"][rows], dtype=torch.float64)
        labels = torch.tensor(data["labels"][rows], dtype=torch.float64).long()
        optimizer.zero_grad()
        maps = torch.relu(F.conv2d(x.reshape(-1, 1, 8, 8), params["K"], params["c"], padding=1))
        logits = F.max_pool2d(maps, 2).reshape(-1, 160) @ params["W"] + params["b"]
        torch_loss = F.cross_entropy(logits, labels)
        torch_loss.backward()
        optimizer.step()
        np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-9, err_msg=f"loss at step {step}")
        ours = after
    for name in names:
        np.testing.assert_allclose(ours[name], params[name].detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


BATCHNORM = next(example for example in EXAMPLES if example["id"] == "train-digits-batchnorm")


def _run_and_torch_params(example: dict) -> tuple[TrainingRun, list[str], dict[str, torch.Tensor]]:
    """The example's training run, its parameters' names, and their initial values as PyTorch leaves."""
    run = TrainingRun(
        example["expression"], example["inputs"], TrainConfig(**example["train"]), Limits(), TrainLimits()
    )
    names = example["train"]["params"]
    params = {
        name: torch.tensor(decode(name, example["inputs"][name], 10**8).value, dtype=torch.float64, requires_grad=True)
        for name in names
    }
    return run, names, params


def test_the_batch_norm_mlp_learns_and_its_steps_equal_torch_optim() -> None:
    example = copy.deepcopy(BATCHNORM)
    steps = example["train"]["steps"]
    run, names, params = _run_and_torch_params(example)
    data = {name: resolve(name, example["inputs"][name], 10**8).take() for name in ("x", "labels")}
    options = example["train"]["optimizer"]
    optimizer = torch.optim.SGD([params[name] for name in names], lr=options["lr"], momentum=options["momentum"])
    losses, final = [], None
    for step, (_, loss, _, positions, _, after) in enumerate(run.steps(steps), 1):
        losses.append(loss)
        final = after
        if step > 20:
            continue
        rows = np.asarray(positions)
        x = torch.tensor(data["x"][rows], dtype=torch.float64)
        labels = torch.tensor(data["labels"][rows]).long()
        optimizer.zero_grad()
        h = x @ params["W1"] + params["b1"]
        hn = F.batch_norm(h, None, None, params["gain"], params["shift"], training=True)
        torch_loss = F.cross_entropy(torch.tanh(hn) @ params["W2"] + params["b2"], labels)
        torch_loss.backward()
        optimizer.step()
        np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-9, err_msg=f"loss at step {step}")
        if step == 20:
            for name in names:
                np.testing.assert_allclose(
                    after[name], params[name].detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name
                )
    assert np.mean(losses[-50:]) < 0.1 * np.mean(losses[:50]), "the loss falls"
    assert run._evaluate(final)["accuracy"] > 0.88


def test_the_attention_head_example_opens_into_its_primitives() -> None:
    example = next(example for example in EXAMPLES if example["id"] == "causal-attention-head")
    closed = evaluate(example["expression"], example["inputs"])
    opened = evaluate(example["expression"], example["inputs"], expand="all")
    ops = {op.name for op in opened.graph.ops if op is not None}
    assert {"matmul", "transpose", "exp", "add"} <= ops and "scaled_dot_product_attention" not in ops
    np.testing.assert_allclose(opened.values[opened.output], closed.values[closed.output], rtol=1e-12)


BLOCK = next(example for example in EXAMPLES if example["id"] == "train-transformer-block")


def _torch_block(p: dict[str, torch.Tensor], idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The block as nanoGPT's model.py computes it (CausalSelfAttention, MLP, Block, tied lm_head), in float64."""
    B, T = idx.shape
    C, nh = p["wte"].shape[1], 2
    x = F.embedding(idx, p["wte"]) + F.embedding(torch.arange(T), p["wpe"])
    q, k, v = F.linear(F.layer_norm(x, (C,), p["ln1_w"], p["ln1_b"]), p["W_attn"], p["b_attn"]).split(C, dim=2)
    q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
    # the explicit masked softmax of nanoGPT's slow path (our program uses scaled_dot_product_attention)
    att = (q @ k.transpose(-2, -1)) * (1.0 / (k.size(-1) ** 0.5))
    att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf")).softmax(dim=-1)
    y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
    x = x + F.linear(y, p["W_proj"], p["b_proj"])
    h = F.layer_norm(x, (C,), p["ln2_w"], p["ln2_b"])
    x = x + F.linear(F.gelu(F.linear(h, p["W_fc"], p["b_fc"])), p["W_out"], p["b_out"])
    logits = F.linear(F.layer_norm(x, (C,), p["lnf_w"], p["lnf_b"]), p["wte"])
    return F.cross_entropy(logits.view(B * T, -1), targets.view(-1))


def test_the_transformer_block_learns_and_its_20_steps_equal_torch_optim_adam() -> None:
    example = copy.deepcopy(BLOCK)
    steps = example["train"]["steps"]
    run, names, params = _run_and_torch_params(example)
    idx, targets = (torch.tensor(example["inputs"][name]) for name in ("idx", "targets"))
    options = example["train"]["optimizer"]
    optimizer = torch.optim.Adam([params[name] for name in names], lr=options["lr"])
    losses, final, worst_loss, worst_param = [], None, 0.0, 0.0
    for step, (_, loss, _, _, _, after) in enumerate(run.steps(steps), 1):
        losses.append(loss)
        final = after
        if step > 20:
            continue
        optimizer.zero_grad()
        torch_loss = _torch_block(params, idx, targets)
        torch_loss.backward()
        optimizer.step()
        np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-9, err_msg=f"loss at step {step}")
        worst_loss = max(worst_loss, abs(loss - torch_loss.item()) / abs(torch_loss.item()))
        if step == 20:
            for name in names:
                ours, theirs = after[name], params[name].detach().numpy()
                worst_param = max(worst_param, float(np.max(np.abs(ours - theirs))))
                if name == "b_attn":
                    # The keys' bias b_attn[C:2C] adds q·b_k to a whole row of scores, which softmax ignores: its
                    # gradient is 0 up to rounding (1e-17), and Adam's m/(√v + eps) turns that rounding into
                    # steps of lr·1e-17/eps = 1e-11 in both libraries, not the same ones.
                    C = BLOCK["inputs"]["wte"]["shape"][1]
                    np.testing.assert_allclose(ours[C : 2 * C], theirs[C : 2 * C], atol=1e-9, err_msg="key bias")
                    ours, theirs = np.delete(ours, np.s_[C : 2 * C]), np.delete(theirs, np.s_[C : 2 * C])
                np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=name)
    print(f"transformer block, 20 steps vs torch.optim.Adam: loss rel. {worst_loss:.1e}, params abs. {worst_param:.1e}")
    assert losses[0] > 4 and np.mean(losses[-20:]) < 0.2, (losses[0], losses[-1])
    # some contexts occur with two continuations ("to " → b, and "o" → " " or "r" or "t")
    assert run._evaluate(final)["accuracy"] >= 0.85


def test_the_transformer_block_opens_into_its_primitives() -> None:
    closed = evaluate(BLOCK["expression"], BLOCK["inputs"])
    opened = evaluate(BLOCK["expression"], BLOCK["inputs"], expand="all")
    ops = {op.name for op in opened.graph.ops if op is not None}
    assert not {"layer_norm", "scaled_dot_product_attention", "gelu"} & ops
    np.testing.assert_allclose(opened.values[opened.output], closed.values[closed.output], rtol=1e-12)
    for name in ("W_attn", "wte", "ln1_w"):
        grads = [result.grads[result.graph.names.index(name)] for result in (closed, opened)]
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9, atol=1e-13, err_msg=name)
