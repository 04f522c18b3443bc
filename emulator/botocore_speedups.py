"""botocore's client classes built once per process instead of once per client.

``botocore.client.ClientCreator`` builds a new class for every client it creates: one method per operation of
the service model (Glue has over 250), then the ``creating-client-class`` event. A chaos sweep starts an
emulated account per seed and each creates its clients anew (the deploy's, the handlers' with their own retry
configuration, the operator's): a glue client alone cost about 10 CPU ms, client creation 4 % of a steady
seed. The class depends only on the service model and on what the ``creating-client-class`` handlers add,
and every session the emulator makes (``aws._botocore_session``) shares one model loader and registers the same
handlers (botocore's and boto3's defaults), so for those sessions the class of a service is built once and
reused. Instances keep everything of their own (configuration, endpoint, credentials, event hooks); sessions
not marked here are served by botocore as before.
"""

from __future__ import annotations

import threading
from typing import Any

_classes: dict[tuple[str, str | None, int], type] = {}
_lock = threading.Lock()
_installed = False
MARK = "_landing_emulator_client_classes"


def share_client_classes(session: Any) -> None:
    """Let clients of ``session`` (a botocore session with the shared loader) reuse client classes."""
    _install()
    setattr(session.get_component("event_emitter"), MARK, True)


def _install() -> None:
    global _installed
    import botocore.client

    with _lock:
        if _installed:
            return
        original = botocore.client.ClientCreator._create_client_class

        def create_client_class(self: Any, service_name: str, service_model: Any) -> Any:
            if not getattr(self._event_emitter, MARK, False):
                return original(self, service_name, service_model)
            # the loader is shared, so one service description is one object: its id names the model
            key = (service_name, service_model.api_version, id(service_model._service_description))
            cls = _classes.get(key)
            if cls is None:
                cls = _classes.setdefault(key, original(self, service_name, service_model))
            return cls

        botocore.client.ClientCreator._create_client_class = create_client_class  # type: ignore[method-assign]
        _installed = True
