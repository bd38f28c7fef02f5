"""train.py: one step does forward, backward and update in that order; fit's bookkeeping
(epochs, NaN stop, schedulers, validation); evaluate and accuracy in eval mode."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader
from tinygrad_edu.train import accuracy, evaluate, fit, predict, train_step


def blobs(n=120, seed=0):
    """Two well separated classes in 2-D."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = (rng.standard_normal((n, 2)) + 3.0 * (2 * y[:, None] - 1)).astype(np.float32)
    return X, y


def model_and_optimizer(lr=0.1):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, optim.SGD(model.parameters(), lr=lr)


def test_train_step_matches_the_loop_written_by_hand():
    X, y = blobs()
    ours, our_optimizer = model_and_optimizer()
    theirs, their_optimizer = model_and_optimizer()
    for _ in range(3):
        loss = train_step(ours, our_optimizer, tg.Tensor(X), tg.Tensor(y))
        expected = F.cross_entropy(theirs(tg.Tensor(X)), tg.Tensor(y))
        their_optimizer.zero_grad()
        expected.backward()
        their_optimizer.step()
        assert loss == expected.item()
    for our, their in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(our.data, their.data)


def test_train_step_clips_and_lets_a_monitor_see_the_raw_gradients():
    X, y = blobs()
    model, optimizer = model_and_optimizer(lr=0.0)
    seen = []

    class Monitor:
        def step(self):
            seen.append(math.sqrt(sum(float((p.grad.data**2).sum()) for p in model.parameters())))

    train_step(model, optimizer, tg.Tensor(X), tg.Tensor(y), clip_norm=1e-3, monitor=Monitor())
    clipped = math.sqrt(sum(float((p.grad.data**2).sum()) for p in model.parameters()))
    assert seen[0] > 1e-2 and clipped == pytest.approx(1e-3, rel=1e-4)


def test_fit_records_every_step_and_each_epochs_mean():
    X, y = blobs()
    model, optimizer = model_and_optimizer()
    loader = DataLoader(X, y, batch_size=32, seed=0)
    history = fit(model, optimizer, loader, epochs=3, validation=(X, y))
    assert len(history.step_loss) == 3 * len(loader) == 12
    assert history.epoch_starts == [0, 4, 8]
    assert history.loss == [pytest.approx(np.mean(history.step_loss[i : i + 4])) for i in (0, 4, 8)]
    assert history.loss[-1] < history.loss[0]
    assert history.val_accuracy[-1] == accuracy(model, X, y) > 0.9
    assert history.val_loss[-1] == pytest.approx(evaluate(model, X, y)["loss"])
    assert history.nonfinite_step is None


def test_fit_stops_at_the_first_nan_loss_without_updating():
    X, y = blobs()
    model, optimizer = model_and_optimizer()
    X = X.copy()
    X[40:] = np.nan  # the second batch of 32 holds NaN rows
    history = fit(model, optimizer, DataLoader(X, y, batch_size=32, shuffle=False), epochs=5)
    assert history.nonfinite_step == 1 and len(history.step_loss) == 2
    assert math.isnan(history.loss[-1]) and len(history.loss) == 1
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # no NaN update


def test_fit_steps_a_scheduler_once_per_epoch():
    X, y = blobs()
    model, optimizer = model_and_optimizer(lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    fit(model, optimizer, DataLoader(X, y, batch_size=32), epochs=3, scheduler=scheduler)
    assert scheduler.last_epoch == 3
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


def test_fit_gives_reduce_on_plateau_the_validation_loss():
    X, y = blobs()
    model, optimizer = model_and_optimizer()
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    history = fit(
        model, optimizer, [(tg.Tensor(X), tg.Tensor(y))], 2, scheduler=scheduler, validation=(X, y)
    )
    assert scheduler.best == min(history.val_loss)


def test_evaluate_and_accuracy_use_eval_mode_and_restore_the_mode():
    X, y = blobs()
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.9))
    scores = [evaluate(model, X, y) for _ in range(2)]
    assert scores[0] == scores[1]  # no dropout: eval mode
    assert model.training  # restored
    logits = predict(model, X).data
    assert accuracy(model, X, y) == scores[0]["accuracy"] == np.mean(logits.argmax(1) == y)
    expected = F.cross_entropy(tg.Tensor(logits), tg.Tensor(y)).item()
    assert scores[0]["loss"] == pytest.approx(expected)
    assert predict(model, X).grad_fn is None
