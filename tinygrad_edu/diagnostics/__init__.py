"""Training health: watch a model train and say, in the lesson's terms, what goes wrong.

findings.py names the failures and their remedies; anomaly.py stops at the first op that
makes a NaN or Inf; monitor.py records per-layer gradient norms, update sizes, dead ReLUs
and saturation while a model trains; curvature.py measures the loss's sharpness, which
bounds the learning rate. Read monitor.py first, then experiments/.
"""

from .anomaly import detect_anomaly
from .curvature import sharpness
from .findings import ADVICE, Finding
from .monitor import HealthMonitor, Thresholds

__all__ = ["ADVICE", "Finding", "HealthMonitor", "Thresholds", "detect_anomaly", "sharpness"]
