#!/usr/bin/env python3
"""Train a small MLP on scikit-learn's bundled digits data with Opacus's PrivacyEngine, the
noise multiplier calibrated for (target_epsilon, delta) by each accountant: ewtune's contour
accountant (registered with Opacus as "ewtune-contour") and Opacus's own "prv" and "rdp".
Paired seeds: seed s uses the same data split, initial weights and batch sampling seed for
every accountant, so accuracy differences come from sigma alone. Every run's final epsilon is
reported by every accountant on that run's history.

Usage: python experiments/opacus/train.py --out results/python/opacus [--seeds 5]
"""
import argparse, csv, json, os, statistics, time

import numpy as np
import torch
from opacus import PrivacyEngine
from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import ewtune.opacus

ACCOUNTANTS = ["ewtune-contour", "prv", "rdp"]


def data(seed):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    return (torch.tensor(xtr), torch.tensor(ytr)), (torch.tensor(xte), torch.tensor(yte))


def model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def train(seed, accountant, sigma, a):
    (xtr, ytr), (xte, yte) = data(seed)
    ds = torch.utils.data.TensorDataset(xtr, ytr)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch_size,
                                         generator=torch.Generator().manual_seed(seed))
    net = model(seed)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9)
    engine = PrivacyEngine(accountant=accountant)
    torch.manual_seed(seed)  # the noise draws
    net, opt, loader = engine.make_private(module=net, optimizer=opt, data_loader=loader,
                                           noise_multiplier=sigma, max_grad_norm=a.clip,
                                           poisson_sampling=True)
    lossf = nn.CrossEntropyLoss()
    for _ in range(a.epochs):
        for xb, yb in loader:
            if len(xb) == 0:
                continue
            opt.zero_grad()
            lossf(net(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    history = list(engine.accountant.history)
    eps = {}
    for name in ACCOUNTANTS:
        other = create_accountant(name)
        other.history = list(history)
        eps[name] = other.get_epsilon(delta=a.delta)
    return acc, history, eps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/python/opacus")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--target-epsilon", type=float, default=2.0)
    ap.add_argument("--delta", type=float, default=1e-5)
    a = ap.parse_args()
    ewtune.opacus.register()
    n_train = len(data(0)[0][0])
    q = a.batch_size / n_train
    sigmas = {}
    for name in ACCOUNTANTS:
        t0 = time.perf_counter()
        sigmas[name] = get_noise_multiplier(target_epsilon=a.target_epsilon,
                                            target_delta=a.delta, sample_rate=q,
                                            epochs=a.epochs, accountant=name,
                                            epsilon_tolerance=0.001)
        print(f"{name}: sigma = {sigmas[name]:.5f} ({time.perf_counter() - t0:.1f} s)")
    os.makedirs(a.out, exist_ok=True)
    rows = []
    for seed in range(a.seeds):
        for name in ACCOUNTANTS:
            acc, history, eps = train(seed, name, sigmas[name], a)
            rows.append(dict(seed=seed, accountant=name, sigma=sigmas[name], accuracy=acc,
                             steps=sum(h[2] for h in history),
                             **{f"epsilon_{k}": v for k, v in eps.items()}))
            print(rows[-1], flush=True)
    with open(os.path.join(a.out, "runs.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summary = {"settings": vars(a), "sample_rate": q, "sigma": sigmas, "accuracy": {}}
    for name in ACCOUNTANTS:
        accs = [r["accuracy"] for r in rows if r["accountant"] == name]
        summary["accuracy"][name] = {"mean": statistics.mean(accs),
                                     "sd": statistics.pstdev(accs), "runs": accs}
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, name in enumerate(ACCOUNTANTS):
        accs = summary["accuracy"][name]["runs"]
        ax.scatter([i] * len(accs), accs, alpha=0.6)
        ax.errorbar([i], [summary["accuracy"][name]["mean"]],
                    yerr=[summary["accuracy"][name]["sd"]], fmt="k_", capsize=8)
    ax.set_xticks(range(len(ACCOUNTANTS)))
    ax.set_xticklabels([f"{n}\nsigma={sigmas[n]:.3f}" for n in ACCOUNTANTS])
    ax.set_ylabel("test accuracy (digits)")
    ax.set_title(f"DP-SGD at target eps={a.target_epsilon}, delta={a.delta}, {a.epochs} epochs")
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "accuracy.png"), dpi=120)


if __name__ == "__main__":
    main()
