"""Flows and their two drivers: each decision written once, as a generator that yields every step that may wait.

A flow is a generator that yields ``Call``\\ s and returns its answer, the pattern of httpx's
auth flows (``Auth.auth_flow``). ``run`` drives it in the calling thread, blocking (WSGI,
Django's sync handler, a CLI); ``run_async`` drives it on an event loop, awaiting each call's
awaitable form, or moving a blocking call to a worker thread, so that the loop never waits
on a network. Only the drivers know which world they are in.

A call that raises has its exception thrown back into the flow at its ``yield``: the flow,
not the driver, decides what a failure means (a revocation store down is the outage policy's
business, a replay cache down is a 503, a user loader's error a 503).

A decision on a hot path may finish before its first step that may wait (a token from the
cache, junk refused by its shape): it then returns its answer and builds no generator at all,
and the drivers take that answer as it is (``Decision``). A generator costs a few hundred
nanoseconds to build and finish, which the cached-token path measurably felt.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator, Mapping
from types import GeneratorType
from typing import Any, NamedTuple, TypeAlias, TypeVar, overload

__all__ = ["Call", "Decision", "Flow", "NeedsAsync", "run", "run_async"]
T = TypeVar("T")


class NeedsAsync(TypeError):
    """An async callable reached the blocking driver (an ``async def`` hook under WSGI)."""


class Call(NamedTuple):
    """One step a flow asks its driver to make: ``fn(*args, **kwargs)``, or its awaitable form.

    Attributes:
        fn: the blocking form, called by ``run`` (and by ``run_async`` when there is no
            ``afn`` and the call is not ``blocking``: a pure function, or one returning an
            awaitable).
        args: positional arguments.
        afn: the awaitable form, awaited by ``run_async`` (a store's ``*_async`` method).
        blocking: without ``afn``, ``run_async`` runs ``fn`` in a worker thread (it may do I/O).
        kwargs: keyword arguments.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    afn: Callable[..., Awaitable[Any]] | None = None
    blocking: bool = False
    kwargs: Mapping[str, Any] = {}


Flow = Generator[Call, Any, T]
Decision: TypeAlias = T | Flow[T]  # the answer at once, or the flow that will give it


def _sync_result(call: Call) -> Any:
    result = call.fn(*call.args, **call.kwargs)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        raise NeedsAsync(f"{getattr(call.fn, '__qualname__', call.fn)!s} is async: it needs the ASGI (asyncio) form")
    return result


async def _async_result(call: Call) -> Any:
    if call.afn is not None:
        return await call.afn(*call.args, **call.kwargs)
    if call.blocking:
        return await asyncio.to_thread(call.fn, *call.args, **call.kwargs)
    result = call.fn(*call.args, **call.kwargs)
    return await result if inspect.isawaitable(result) else result


@overload
def run(flow: Flow[T]) -> T: ...
@overload
def run(flow: Decision[T]) -> T: ...
def run(flow: Decision[T]) -> T:
    """Drive a flow in this thread, making each call with its blocking form.

    Args:
        flow: the generator, or an answer already decided (returned as it is).
    """
    if type(flow) is not GeneratorType:
        return flow  # type: ignore[return-value]
    try:
        call = next(flow)
        while True:
            try:
                result = _sync_result(call)
            except Exception as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


@overload
async def run_async(flow: Flow[T]) -> T: ...
@overload
async def run_async(flow: Decision[T]) -> T: ...
async def run_async(flow: Decision[T]) -> T:
    """Drive a flow on the running event loop: each call's awaitable form is awaited, a
    blocking one runs in a worker thread.

    Args:
        flow: the generator, or an answer already decided (returned as it is).
    """
    if type(flow) is not GeneratorType:
        return flow  # type: ignore[return-value]
    try:
        call = next(flow)
        while True:
            try:
                result = await _async_result(call)
            except Exception as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
