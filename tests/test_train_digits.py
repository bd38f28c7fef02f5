"""End to end: an MLP with BatchNorm1d and Dropout learns the bundled handwritten
digits (Module, layers, cross_entropy, Adam, DataLoader, scaling, eval mode, train.fit)."""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, train_test_split
from tinygrad_edu.datasets import load_digits
from tinygrad_edu.features import LinearScaler
from tinygrad_edu.train import accuracy, fit


def test_mlp_with_batchnorm_and_dropout_learns_digits():
    tg.manual_seed(0)
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
    scaler = LinearScaler()
    X_train, X_test = scaler.fit_transform(X_train), scaler.transform(X_test)
    model = nn.Sequential(
        nn.Linear(64, 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    batches = DataLoader(X_train, y_train, batch_size=64, seed=0)  # a new order every epoch
    history = fit(model, optimizer, batches, epochs=15, validation=(X_test, y_test))
    losses = history.step_loss
    assert len(losses) == 15 * len(batches) and history.nonfinite_step is None
    assert np.isfinite(losses).all()
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10])
    assert model[1].num_batches_tracked.item() == len(losses)
    assert accuracy(model, X_test, y_test) == history.val_accuracy[-1] >= 0.95
