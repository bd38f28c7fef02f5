"""Training health: detect_anomaly's messages and the HealthMonitor's findings on real failures."""

import importlib
import math
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.datasets import load_digits
from tinygrad_edu.diagnostics import ADVICE, Finding, HealthMonitor, Thresholds, detect_anomaly
from tinygrad_edu.diagnostics.monitor import count_alive_units
from tinygrad_edu.train import fit

tensor = importlib.import_module("tinygrad_edu.tensor")  # the module: tg.tensor is the function

# ---------------------------------------------------------------- detect_anomaly


def test_forward_nan_names_op_phase_shape_and_user_line():
    x = tg.Tensor([1.0, -1.0, 2.0], requires_grad=True)
    with (
        pytest.raises(FloatingPointError) as error,
        detect_anomaly(),
        np.errstate(invalid="ignore"),
    ):
        (x * 2).log()  # the line the message must point at
    message = str(error.value)
    assert "LogBackward" in message and "forward" in message and "(3,)" in message
    assert "nan" in message
    assert "test_diagnostics.py" in message and "(x * 2).log()" in message


def test_forward_overflow_to_inf_is_caught_at_exp():
    x = tg.Tensor(np.array([[1.0, 100.0]], np.float32), requires_grad=True)
    expected = r"ExpBackward produced inf in forward.*\(1, 2\)"
    with (
        pytest.raises(FloatingPointError, match=expected),
        detect_anomaly(),
        np.errstate(over="ignore"),
    ):
        (x + 1).exp()


def test_backward_inf_names_the_op_and_where_it_was_made():
    x = tg.Tensor([0.0, 4.0], requires_grad=True)
    with pytest.raises(FloatingPointError) as error, detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()
        (y * 3).sum().backward()
    message = str(error.value)
    assert "SqrtBackward" in message and "backward" in message and "(2,)" in message
    assert "y = x.sqrt()" in message


def test_a_nan_already_in_the_input_is_blamed_on_the_input():
    weight = tg.Tensor([1.0, 2.0], requires_grad=True)
    data = tg.Tensor([np.nan, 1.0], requires_grad=True)
    expected = "MulBackward.*input 1 already held nan"
    with pytest.raises(FloatingPointError, match=expected), detect_anomaly():
        weight * data


def test_finite_work_is_untouched_and_the_observer_is_restored():
    before = tensor.op_observer
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert tensor.op_observer is before


def test_nesting_restores_the_outer_observer_even_after_an_error():
    with detect_anomaly():
        outer = tensor.op_observer
        with pytest.raises(FloatingPointError), detect_anomaly(), np.errstate(invalid="ignore"):
            tg.Tensor([-1.0]).log()
        assert tensor.op_observer is outer
        with pytest.raises(FloatingPointError), np.errstate(invalid="ignore"):
            tg.Tensor([-1.0]).sqrt()  # the outer one still watches
    assert tensor.op_observer is None


# ---------------------------------------------------------------- HealthMonitor


@pytest.fixture(scope="module")
def digits_batches():
    X, y = load_digits()
    X = (X / 8.0 - 1.0).astype(np.float32)
    return [(tg.Tensor(X[i : i + 64]), tg.Tensor(y[i : i + 64])) for i in range(0, 640, 64)]


def deep_mlp(activation, depth=10, width=32, init=None):
    layers, fan_in = [], 64
    for _ in range(depth):
        linear = nn.Linear(fan_in, width)
        if init is not None:
            init(linear.weight)
        layers += [linear, activation()]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, 10))


def train_watched(model, batches, lr=0.1, steps=5, **thresholds):
    """`steps` SGD steps with the library's loop, a HealthMonitor watching."""
    monitor = HealthMonitor(model, **thresholds)
    fit(model, optim.SGD(model.parameters(), lr=lr), batches[:steps], epochs=1, monitor=monitor)
    return monitor


def kinds(monitor):
    return {finding.kind for finding in monitor.findings}


def test_flags_vanishing_in_deep_sigmoid_net_with_small_init(digits_batches):
    tg.manual_seed(0)
    model = deep_mlp(nn.Sigmoid, init=lambda w: nn.init.normal_(w, 0.0, 0.05))
    monitor = train_watched(model, digits_batches)
    vanishing = [f for f in monitor.findings if f.kind == "vanishing_gradient"]
    assert vanishing, monitor.summary()
    assert vanishing[0].layer == "0"  # the lowest layer, named as the Sequential names it
    assert "ReLU helps" in vanishing[0].advice
    norms = monitor.history["0"]["grad_norm"]
    assert max(norms) < 1e-3 * max(monitor.history["20"]["grad_norm"])


def test_same_depth_relu_net_with_kaiming_init_does_not_vanish(digits_batches):
    tg.manual_seed(0)
    model = deep_mlp(nn.ReLU, init=lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"))
    monitor = train_watched(model, digits_batches)
    assert "vanishing_gradient" not in kinds(monitor), monitor.summary()


def test_flags_dead_relu_when_the_bias_is_minus_ten(digits_batches):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model[0].bias.data[:] = -10.0
    monitor = train_watched(model, digits_batches, steps=3)
    dead = [f for f in monitor.findings if f.kind == "dead_relu"]
    assert [(f.layer, f.step, f.value) for f in dead] == [("1", 0, 1.0)]
    assert "lower the learning rate" in dead[0].advice
    assert monitor.history["1"]["dead_fraction"] == [1.0, 1.0, 1.0]
    assert "vanishing_gradient" not in kinds(monitor)  # a zero gradient is a cut path


def test_huge_learning_rate_is_flagged_exploding_or_nan(digits_batches):
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    with np.errstate(all="ignore"):
        monitor = train_watched(model, digits_batches, lr=1e4, steps=8)
    assert kinds(monitor) & {"exploding_gradient", "nan"}, monitor.summary()


def test_nan_gradients_are_counted_and_flagged(digits_batches):
    model = nn.Sequential(nn.Linear(64, 10))
    model[0].weight.data[0, 0] = np.nan
    monitor = train_watched(model, digits_batches, steps=1)
    assert [f.kind for f in monitor.findings] == ["nan"]
    assert monitor.history["0"]["nonfinite"][0] > 0
    assert "scale features" in monitor.findings[0].advice


def test_one_finding_per_episode_and_a_new_one_after_a_gap(digits_batches):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model[0].bias.data[:] = -10.0
    monitor = HealthMonitor(model, episode_gap=2)
    X, y = digits_batches[0]
    for bias in [-10, -10, -10, 10, 10, 10, -10]:  # dead 3 steps, alive 3, dead again
        model[0].bias.data[:] = bias
        F.cross_entropy(model(X), y).backward()
        monitor.step()
    dead = [(f.layer, f.step) for f in monitor.findings if f.kind == "dead_relu"]
    assert dead == [("1", 0), ("1", 6)]


def test_thresholds_are_configurable_and_checked(digits_batches):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 10))
    assert "exploding_gradient" in kinds(
        train_watched(model, digits_batches, steps=1, exploding_norm=1e-9)
    )
    monitor = HealthMonitor(model, Thresholds(dead_fraction=0.9))
    assert monitor.thresholds.dead_fraction == 0.9
    with pytest.raises(TypeError, match="unknown threshold 'dead'"):
        HealthMonitor(model, dead=0.5)
    with pytest.raises(TypeError, match="nn.Module"):
        HealthMonitor([model])


def test_history_update_ratio_and_saturation(digits_batches):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))
    monitor = train_watched(model, digits_batches, lr=0.5, steps=2)
    series = monitor.history["0"]
    assert set(series) == {"grad_norm", "update_ratio", "nonfinite"}
    assert math.isnan(series["update_ratio"][0])
    assert series["update_ratio"][1] > 0  # step 1 sees the update made after step 0
    assert len(series["grad_norm"]) == 2
    saturation = monitor.history["1"]["saturation"]
    assert len(saturation) == 2 and all(0.0 <= s <= 1.0 for s in saturation)


def test_update_ratio_measures_the_optimizer_step(digits_batches):
    model = nn.Sequential(nn.Linear(64, 10, bias=False))
    monitor = HealthMonitor(model)
    X, y = digits_batches[0]
    F.cross_entropy(model(X), y).backward()
    monitor.step()
    previous = model[0].weight.data.copy()
    model[0].weight.data[...] = previous * 1.5  # an "update" of half the weights' size
    monitor.step()
    assert monitor.history["0"]["update_ratio"][1] == pytest.approx(0.5, rel=1e-5)


def test_finding_to_dict_and_summary(digits_batches):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model[0].bias.data[:] = -10.0
    monitor = train_watched(model, digits_batches, steps=1)
    record = monitor.findings[0].to_dict()
    assert record == {
        "kind": "dead_relu",
        "layer": "1",
        "step": 0,
        "value": 1.0,
        "advice": ADVICE["dead_relu"],
    }
    assert isinstance(monitor.findings[0], Finding)
    text = monitor.summary()
    assert "HealthMonitor: 1 steps" in text and "100%" in text and "dead_relu" in text
    assert text.index("\n0 ") < text.index("\n1 ") < text.index("\n2 ")  # model order


def test_dead_units_are_marked_by_the_relu_kernel_in_its_own_pass(monkeypatch, digits_batches):
    """The monitor does not recount: each nn.ReLU forward hands the kernel an `alive` mask."""
    from tinygrad_edu import kernels

    masks = []
    real_relu = kernels.relu

    def spy(x, out=None, alive=None):
        masks.append(alive)
        return real_relu(x, out, alive)

    monkeypatch.setattr(kernels, "relu", spy)
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model[0].bias.data[:16] = -10.0  # half the units dead for every input
    monitor = HealthMonitor(model)
    X, y = digits_batches[0]
    F.cross_entropy(model(X), y).backward()
    assert len(masks) == 1 and masks[0] is model[1].alive and masks[0].dtype == np.uint8
    expected = 1.0 - (model[0](X).data > 0).any(axis=0).mean()
    monitor.step()
    assert monitor.history["1"]["dead_fraction"] == [expected] and expected >= 0.5
    assert model[1].alive is None  # taken: the next forward starts a new count
    monitor.remove()
    model(X)
    assert masks[-1] is None and not model[1].count_alive


def test_a_relu_on_n_d_input_counts_every_entry_of_an_example_as_a_unit():
    relu = nn.ReLU()
    x = np.full((5, 3, 4), -1.0, np.float32)
    x[2, 1, 3] = 2.0  # one unit fires for one example
    with count_alive_units(nn.Sequential(relu)) as alive:
        relu(tg.Tensor(x))
        relu(tg.Tensor(x * 0))  # a second forward accumulates (exact zeros do not fire)
    expected = np.zeros(12, bool)
    expected[1 * 4 + 3] = True
    np.testing.assert_array_equal(alive["0"], expected)
    assert not relu.count_alive and relu.alive is None  # restored


def test_counting_alive_units_does_not_change_the_relu_or_its_gradient():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((6, 5)), requires_grad=True)
    relu = nn.ReLU()
    plain = relu(x)
    plain.sum().backward()
    grad = x.grad.data.copy()
    x.grad = None
    with count_alive_units(relu):
        counted = relu(x)
    counted.sum().backward()
    np.testing.assert_array_equal(counted.data, plain.data)
    np.testing.assert_array_equal(x.grad.data, grad)


def test_remove_detaches_the_hooks(digits_batches):
    model = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10))
    monitor = HealthMonitor(model)
    monitor.remove()
    X, y = digits_batches[0]
    F.cross_entropy(model(X), y).backward()
    monitor.step()
    assert math.isnan(monitor.history["1"]["dead_fraction"][0])


def test_plot_writes_a_png(tmp_path, digits_batches):
    pytest.importorskip("matplotlib")
    tg.manual_seed(0)
    monitor = train_watched(deep_mlp(nn.ReLU, depth=2), digits_batches, steps=3)
    path = tmp_path / "health.png"
    monitor.plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monitor = HealthMonitor(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ImportError, match="pip install matplotlib"):
        monitor.plot(str(tmp_path / "x.png"))
