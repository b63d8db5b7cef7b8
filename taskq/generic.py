"""Class-based actors: Dramatiq's ``GenericActor``.

A subclass of :class:`GenericActor` becomes an actor when its class statement runs: the name
bound is an instance whose ``perform`` method is the actor's function, with the attributes of
its :class:`~taskq.actor.Actor` (``send``, ``send_with_options``, ``queue_name``, ``options``,
...). Options come from an inner ``Meta`` class; ``Meta.abstract = True`` keeps a base class a
plain class whose subclasses inherit its ``Meta``; ``Meta.actor`` replaces the decorator that
declares the actor (:func:`taskq.actor` by default).
"""

from __future__ import annotations

from typing import Any

from .actor import actor

__all__ = ["GenericActor", "generic_actor"]


class generic_actor(type):  # noqa: N801 - Dramatiq's name
    """Metaclass of :class:`GenericActor`: turns concrete subclasses into actors."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        cls = super().__new__(mcs, name, bases, attrs)
        meta = getattr(cls, "Meta", object())
        # "abstract" counts only in a Meta the class statement itself defines: a subclass that
        # inherits an abstract base's Meta (or subclasses it) is concrete.
        own_meta = attrs.get("Meta")
        if own_meta is None or not vars(own_meta).get("abstract", False):
            options = {
                key: getattr(meta, key)
                for klass in reversed(getattr(meta, "__mro__", (type(meta),)))
                for key in vars(klass)
                if not key.startswith("_")
            }
            options.pop("abstract", None)
            declare = options.pop("actor", actor)
            instance = cls()
            cls.__getattr__ = _delegate_to_actor  # type: ignore[method-assign,assignment]
            instance.__actor__ = declare(instance, **options)
            return instance
        return cls

    def __getattr__(cls, name: str) -> Any:
        # Class-level lookups of an abstract class (or GenericActor itself) fail plainly.
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")


def _delegate_to_actor(self: Any, name: str) -> Any:
    """Instance attribute lookup of a concrete generic actor falls through to its Actor."""
    try:
        declared = self.__dict__["__actor__"]
    except KeyError:
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None
    return getattr(declared, name)


class GenericActor(metaclass=generic_actor):
    """Base class for class-based actors: subclass it, implement :meth:`perform`, and
    optionally give an inner ``Meta`` class with the actor's options::

        class Resize(taskq.GenericActor):
            class Meta:
                queue_name = "images"
                max_retries = 3

            def perform(self, path, width):
                ...

        Resize.send("cat.png", 200)

    Classes whose ``Meta`` says ``abstract = True`` are not actors; their subclasses are, and
    inherit their ``Meta`` options.
    """

    class Meta:
        abstract = True

    @property
    def __name__(self) -> str:  # type: ignore[override]
        """The actor's default name: the class name."""
        cls: type = type(self)
        return cls.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.perform(*args, **kwargs)

    def perform(self, *args: Any, **kwargs: Any) -> Any:
        """The actor's body: every concrete subclass implements it."""
        raise NotImplementedError(f"{self.__name__} does not implement perform()")
