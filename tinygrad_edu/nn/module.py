"""Module: the container that finds a model's parameters for you.

Assigning a Parameter, a sub-Module or a buffer as an attribute registers it
(in assignment order), which is all `parameters()`, `state_dict()` and
`load_state_dict()` need. Read layers.py next for the layers built on it.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations are strings here, never evaluated
    from typing import Self

import numpy as np

from ..tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires_grad=True).

    Its data is a copy of `data` (an array, a Tensor or nested lists), with
    Tensor's dtype rules."""

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """Returned by `register_forward_hook`; `remove()` unregisters the hook."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class Module:
    """Base class of every layer and model: subclass it and write `forward`.

    Parameters, buffers and sub-Modules are kept in the instance's __dict__ (so
    reading `self.weight` costs a plain attribute lookup) and, by name, in the
    three ordered registries below, which every traversal walks.
    """

    _next_hook_key = 0

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # ---- registration ---------------------------------------------------------

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise _assignment_error(value, "parameter", name, "nn.Parameter")
            self._parameters[name] = None
        elif name in self._modules:
            if value is not None:
                raise _assignment_error(value, "child module", name, "nn.Module")
            self._modules[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise _assignment_error(value, "buffer", name, "Tensor")
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def _check_new_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")
        if name in self.__dict__ and not self._is_registered(name):
            raise KeyError(f"attribute {name!r} already exists")

    def _is_registered(self, name: str) -> bool:
        return name in self._parameters or name in self._buffers or name in self._modules

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or None: a declared but absent parameter, like bias=False)."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise _assignment_error(param, "parameter", name, "nn.Parameter")
        self._forget(name)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is saved in state_dict but not trained (running stats)."""
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise _assignment_error(tensor, "buffer", name, "Tensor")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child called `name` (Sequential uses "0", "1", ...)."""
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise _assignment_error(module, "child module", name, "nn.Module")
        self._forget(name)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ---- calling --------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        if not self._forward_hooks:  # the common case, kept cheap: no hooks to call
            return output
        for hook in tuple(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every forward; a non-None result
        replaces the output. Returns a handle whose `remove()` unregisters it."""
        key = Module._next_hook_key
        Module._next_hook_key += 1
        self._forward_hooks[key] = hook
        return RemovableHandle(self._forward_hooks, key)

    # ---- traversal ------------------------------------------------------------

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator:
        """Yield (name, module) for this module and every descendant, pre-order; a module
        reachable twice is yielded once unless remove_duplicate=False."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                child_prefix = f"{prefix}.{name}" if prefix else name
                yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry_name: str, prefix: str, recurse: bool) -> Iterator:
        """Yield (dotted name, tensor) from one registry of each module, each tensor once."""
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, tensor in getattr(module, registry_name).items():
                if tensor is None or id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                yield (f"{module_prefix}.{name}" if module_prefix else name), tensor

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator:
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ---- modes and gradients ---------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None (the next backward starts afresh)."""
        for param in self.parameters():
            param.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradients on or off for every parameter (freezing a part of a model)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    # ---- applying and converting -----------------------------------------------

    def apply(self, fn: Callable) -> Module:
        """Call fn(module) on every child, recursively, then on this module (as PyTorch:
        children first). The usual use: a custom initialisation."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype) -> Module:
        """Convert every floating-point parameter and buffer (and gradient), in place, to
        float32 or float64; integer buffers (num_batches_tracked) are left as they are.
        The tensors stay the same objects, so an optimizer built earlier still holds them.
        `to("cpu")` is accepted and changes nothing: this library runs on the CPU."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"to: dtype must be float32 or float64, got {dtype}")
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad.data = tensor.grad.data.astype(dtype)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # ---- saving and loading -----------------------------------------------------

    def _state_tensors(self, prefix: str = "") -> OrderedDict[str, Tensor]:
        """Name -> Tensor for state_dict: own parameters, own persistent buffers, then
        each child's, recursively (PyTorch's order; shared tensors appear under each name)."""
        state = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                state[prefix + name] = param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                state[prefix + name] = buffer
        for name, module in self._modules.items():
            if module is not None:
                state.update(module._state_tensors(f"{prefix}{name}."))
        return state

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Name -> a copy of each parameter's and buffer's array (PyTorch's keys and order)."""
        return OrderedDict(
            (name, tensor.data.copy()) for name, tensor in self._state_tensors().items()
        )

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy `state_dict`'s arrays into this module's tensors, in place.

        Everything is checked first: with strict=True a missing or unexpected key is
        an error, and a shape or dtype mismatch always is. If anything is wrong, one
        RuntimeError lists every problem and no tensor has changed.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(
                f"load_state_dict: state_dict must be a mapping, got {type(state_dict).__name__}"
            )
        targets = self._state_tensors()
        missing = [name for name in targets if name not in state_dict]
        unexpected = [name for name in state_dict if name not in targets]
        problems = []
        if strict:
            problems += [f"missing key {name!r}" for name in missing]
            problems += [f"unexpected key {name!r}" for name in unexpected]
        values = {}
        for name, target in targets.items():
            if name not in state_dict:
                continue
            try:
                value = _as_array(state_dict[name])
            except (TypeError, ValueError) as error:
                problems.append(f"value for {name!r} is not an array: {error}")
                continue
            if value.shape != target.shape:
                problems.append(
                    f"size mismatch for {name!r}: the checkpoint has shape {value.shape}, "
                    f"the model has shape {target.shape}"
                )
            elif value.dtype != target.dtype:
                problems.append(
                    f"dtype mismatch for {name!r}: the checkpoint has {value.dtype}, "
                    f"the model has {target.dtype}"
                )
            values[name] = value
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                + "\n  ".join(problems)
            )
        for name, value in values.items():
            targets[name].data[...] = value
        return IncompatibleKeys(missing, unexpected)

    # ---- printing --------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in repr (layers override it)."""
        return ""

    def __repr__(self) -> str:
        lines = [self.extra_repr()] if self.extra_repr() else []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not self._modules:
            return f"{type(self).__name__}({''.join(lines)})"
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"


def _assignment_error(value, kind: str, name: str, expected: str) -> TypeError:
    return TypeError(
        f"cannot assign {type(value).__name__} as {kind} {name!r} ({expected} or None expected)"
    )


def _as_array(value) -> np.ndarray:
    """A state_dict value as an array: Tensor, numpy array, or anything np.asarray takes."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children "0", "1", ... counted, iterated, appended."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Self:
        self.add_module(str(len(self)), module)
        return self


class Sequential(_ModuleSequence):
    """Modules applied one after the other; children are named "0", "1", ..."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]


class ModuleList(_ModuleSequence):
    """A list of Modules whose parameters are registered (children "0", "1", ...)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[index]

    def extend(self, modules) -> ModuleList:
        for module in modules:
            self.append(module)
        return self


class ModuleDict(Module):
    """A dict of Modules whose parameters are registered, in insertion order (keys are the
    state_dict prefixes, as PyTorch)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if hasattr(type(self), key):  # "keys", "update", ...: the attribute would hide the method
            raise KeyError(f"ModuleDict: {key!r} is a method name and cannot be a key")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)  # Module.__delattr__ also drops it from the registry

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def update(self, modules) -> None:
        """Add (name, module) pairs from a mapping or an iterable of pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module
